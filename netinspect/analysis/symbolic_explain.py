"""``--explain`` with named dims: the shape arithmetic as formulas, and stride and receptive
field per row as exact expressions of the names. sympy, no torch.

A window with a fixed kernel and stride (conv, pooling) maps the same way at every size, so
the stride and receptive field it leaves are numbers that hold for every H and W: the values
``explain.py`` computes at the hint are exact as they stand. Only a window whose size depends
on the input (an adaptive pool or a resize to a fixed size) changes that: its stride is the
ratio of its input to its output size, ``⌊H/32⌋/7``, so every stride after it is the value at
the hint with that ratio put back in place of its value at the hint. Its widest window, and so
the receptive field after it, has no closed form (⌈I/O⌉ or one more); those are given at the
hint and say so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction

import sympy

from netinspect.analysis.diagnose.common import DIM_NAMES, op_name, per_dim, spatial_dims
from netinspect.analysis.guard_eval import Unsolvable
from netinspect.analysis.guards import solve
from netinspect.analysis.intsets import intersect
from netinspect.analysis.numbers import number_text
from netinspect.analysis.symbolic import parse_dim, symbol
from netinspect.capture.exprs import python_text
from netinspect.records import InspectionReport, LayerRecord, Progression
from netinspect.symexpr import describe_set, names_in, readable


def _wrap(text: str) -> str:
    """Parentheses around a compound size (``⌊H/2⌋ + 1``), none around ``⌊H/2⌋`` or ``H``."""
    depth, top = 0, []
    for ch in text:
        if ch in "⌊⌈(":
            depth += 1
        elif ch in "⌋⌉)":
            depth -= 1
        elif depth == 0:
            top.append(ch)
    return f"({text})" if any(c in "".join(top) for c in " ·/") else text


def _alike(names: Sequence[str], texts: Sequence[str]) -> str | None:
    """``text (W alike)`` when every dim's text is the first's with its own name in it."""
    first = texts[0]
    if len(names) == len(texts) > 1 and all(
        t == first.replace(names[0], n) for n, t in zip(names, texts, strict=False)
    ):
        return f"{first} ({', '.join(names[1:])} alike)"
    return None


def _per_dim(names: Sequence[str], texts: Sequence[str]) -> list[str]:
    """One line when every dim reads the same (or the same with its own name in it); else a
    line per dim."""
    if len(set(texts)) == 1:
        return [f"{', '.join(names)}: {texts[0]}"]
    alike = _alike(names, texts)
    if alike is not None:
        return [f"{names[0]}: {alike}"]
    return [f"{n}: {t}" for n, t in zip(names, texts, strict=False)]


def _io(row: LayerRecord) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    if not row.input_shapes_symbolic or not row.output_shapes_symbolic:
        return None
    return row.input_shapes_symbolic[0], row.output_shapes_symbolic[0]


def _window_lines(
    row: LayerRecord, names: Sequence[str], hints: dict[str, int]
) -> list[str] | None:
    """Conv and pooling arithmetic with the input size as a formula."""
    io, n = _io(row), spatial_dims(row)
    if io is None or n is None or len(io[0]) < n:
        return None
    src, out = io
    attrs = row.attributes
    k = per_dim(attrs.get("kernel_size"), n)
    is_pool = row.type.startswith(("MaxPool", "AvgPool"))
    s = per_dim(attrs.get("stride") or (attrs.get("kernel_size") if is_pool else 1), n)
    d = per_dim(attrs.get("dilation", 1), n)
    padding = attrs.get("padding", 0)
    if isinstance(padding, str) or k is None or s is None or d is None:
        return None
    p = per_dim(padding, n)
    if p is None:
        return None
    ceil = bool(attrs.get("ceil_mode"))
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    texts = []
    for h, o, kk, st, pd, dl in zip(src[-n:], out[-n:], k, s, p, d, strict=False):
        hs, os_ = readable(h), readable(o)
        if row.type.startswith("ConvTranspose"):
            op = per_dim(attrs.get("output_padding", 0), n) or (0,) * n
            texts.append(f"({hs} − 1)·{st} − 2·{pd} + {dl}·({kk} − 1) + {op[0]} + 1 = {os_}")
            continue
        window = f"{dl}·({kk} − 1) − 1"  # spelled out for pools too, as for convs
        texts.append(f"{left}({_wrap(hs)} + 2·{pd} − {window})/{st}{right} + 1 = {os_}")
    lines = []
    if isinstance(attrs.get("in_channels"), int) and len(src) > n:
        lines.append(f"channels {readable(src[-n - 1])} → {readable(out[-n - 1])}")
    return lines + _per_dim(DIM_NAMES.get(n, ()), texts)


def _adaptive_lines(
    row: LayerRecord,
    names: Sequence[str],
    hints: dict[str, int],
    valid: dict[str, tuple[Progression, ...]],
) -> tuple[list[str], list[str]] | None:
    io, n = _io(row), spatial_dims(row)
    if io is None or n is None:
        return None
    src, out = io
    texts, warnings = [], []
    dim_names = DIM_NAMES.get(n, ())
    for i, o in zip(src[-n:], out[-n:], strict=False):
        texts.append(f"{readable(i)} → {readable(o)}")
        expr_in, expr_out = parse_dim(i, names), parse_dim(o, names)
        free = sorted(str(x) for x in (expr_in - expr_out).free_symbols)
        if not free:
            continue
        # Exactly where it repeats values: the input smaller than the output it must fill.
        condition = sympy.StrictLessThan(expr_in, expr_out)
        for name in free:
            others = {symbol(m): v for m, v in hints.items() if m != name}
            try:
                found = solve([condition.subs(others)], symbol(name), lower=1)
            except Unsolvable:
                continue
            members = intersect(found.members, valid.get(name, found.members))
            if members:
                warnings.append(
                    f"upsamples (repeats values) exactly when {readable(python_text(condition))}: "
                    f"{name} {describe_set(members)}"
                )
    if len(warnings) > 1 and len(warnings) == len(dim_names):
        warnings = [_alike(dim_names, warnings) or w for w in warnings[:1]] + (
            [] if _alike(dim_names, warnings) else warnings[1:]
        )
    return _per_dim(dim_names, texts), warnings


def _reshape_lines(row: LayerRecord) -> list[str] | None:
    io = _io(row)
    if io is None:
        return None
    src, out = io
    if len(out) < len(src) and src[: len(out) - 1] == out[:-1]:
        merged = src[len(out) - 1 :]
        return [f"{'×'.join(readable(d) for d in merged)} = {readable(out[-1])}"]
    return None


def _scaled(coefficient: Fraction, factors: Sequence[str]) -> str:
    """``32·⌊H/32⌋/7``: a fraction times size formulas, kept as written (sympy would spread
    the coefficient over a sum)."""
    if not factors:
        return (
            number_text(float(coefficient))
            if coefficient.denominator != 1
            else str(coefficient.numerator)
        )
    parts = [] if coefficient.numerator == 1 else [str(coefficient.numerator)]
    for f in factors:
        text = readable(f)
        parts.append(f"({text})" if " " in text else text)
    body = "·".join(parts)
    return body if coefficient.denominator == 1 else f"{body}/{coefficient.denominator}"


def _resize_lines(row: LayerRecord) -> list[str] | None:
    """Upsample / interpolate with the input size as a formula."""
    io = _io(row)
    if io is None or len(io[0]) < 3:
        return None
    src, out = io
    n = len(src) - 2
    scale = row.attributes.get("scale_factor")
    texts = []
    for axis, (i, o) in enumerate(zip(src[2:], out[2:], strict=False)):
        factor = scale[axis] if isinstance(scale, tuple) else scale
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            texts.append(f"⌊{readable(i)} × {factor:g}⌋ = {readable(o)}")
        else:
            texts.append(f"{readable(i)} → {readable(o)}")
    lines = _per_dim(DIM_NAMES.get(n, ()), texts)
    if isinstance(row.attributes.get("mode"), str):
        lines.append(f"mode={row.attributes['mode']}")
    return lines


def _size_dependent(row: LayerRecord) -> bool:
    """A window whose size follows the input: adaptive pooling, a resize to a fixed size."""
    if row.type.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")):
        return True
    is_resize = row.type.startswith(("Upsample", "UpsamplingNearest", "UpsamplingBilinear")) or (
        row.kind == "function" and op_name(row) == "interpolate"
    )
    return is_resize and row.attributes.get("size") is not None


def explain_symbolic(report: InspectionReport) -> InspectionReport:
    """``report.explanations`` rewritten with formulas (the report must carry both)."""
    if report.symbolic is None or report.explanations is None:
        return report
    hints = {s.name: s.hint for s in report.symbolic.symbols if not s.specialised}
    valid = {s.name: s.valid for s in report.symbolic.symbols}
    names = [s.name for s in report.symbolic.symbols]
    rows = {r.index: r for r in report.layers}
    # Each size-dependent window on the path multiplies later strides by (its input / its
    # input at the hint): (row index, per dim the symbolic input and its value at the hint).
    ratios: list[tuple[int, list[tuple[str, int]]]] = []
    out = []
    for e in report.explanations:
        row = rows.get(e.layer_index)
        if row is None or row.input_shapes_symbolic is None:
            out.append(e)
            continue
        lines: list[str] | None = None
        warnings = list(e.warnings)
        t = row.type
        if row.kind == "module" and t.startswith(("Conv", "LazyConv", "MaxPool", "AvgPool")):
            lines = _window_lines(row, names, hints)
        elif row.kind == "module" and t.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")):
            found = _adaptive_lines(row, names, hints, valid)
            if found is not None:
                lines, warnings = found
        elif t.startswith(("Upsample", "UpsamplingNearest", "UpsamplingBilinear")) or (
            row.kind == "function" and op_name(row) in ("interpolate", "upsample")
        ):
            lines = _resize_lines(row)
        elif t in ("Flatten", "Unflatten") or (
            row.kind == "function" and op_name(row) in ("flatten", "view", "reshape")
        ):
            lines = _reshape_lines(row)
        stride_text = rf_text = None
        if e.cumulative_stride is not None and e.receptive_field is not None:
            n = len(e.cumulative_stride)
            earlier = [r for index, r in ratios if index < row.index]
            strides = []
            for axis, value in enumerate(e.cumulative_stride):
                # The stride at the hint, with each size-dependent window's input size at the
                # hint replaced by its formula: coefficient · (formula) ··· exactly.
                coefficient = Fraction(value).limit_denominator(10**6)
                factors: list[str] = []
                for per_axis in earlier:
                    if axis < len(per_axis):
                        symbolic_in, at_hint = per_axis[axis]
                        coefficient /= at_hint
                        factors.append(symbolic_in)
                if _size_dependent(row) and row.input_shapes_symbolic:
                    coefficient /= int(row.input_shapes[0][-n:][axis])
                    factors.append(row.input_shapes_symbolic[0][-n:][axis])
                strides.append(_scaled(coefficient, factors))
            stride_text = tuple(strides)
            shown_names = DIM_NAMES.get(n, ())
            if len(set(strides)) > 1 and _alike(shown_names, strides):
                stride_text = (_alike(shown_names, strides) or "",)
            depends = bool(earlier) or _size_dependent(row)
            rf_text = tuple(
                number_text(v) + (" (hint)" if depends else "") for v in e.receptive_field
            )
            if _size_dependent(row) and row.input_shapes_symbolic:
                src = row.input_shapes_symbolic[0][-n:]
                per_axis = [(src[a], int(row.input_shapes[0][-n:][a])) for a in range(n)]
                if any(names_in(text) for text, _ in per_axis):
                    ratios.append((row.index, per_axis))
        out.append(
            dataclasses.replace(
                e,
                arithmetic=tuple(lines) if lines is not None else e.arithmetic,
                warnings=tuple(warnings),
                cumulative_stride_symbolic=stride_text,
                receptive_field_symbolic=rf_text,
            )
        )
    return dataclasses.replace(report, explanations=tuple(out))
