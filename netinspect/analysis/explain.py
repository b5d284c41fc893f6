"""``--explain``: the arithmetic behind each row's output shape, and cumulative stride and
receptive field along the main path. Pure functions of the records (no torch).

Receptive field recurrence (per spatial dim), for a layer with kernel k, dilation d, stride s,
applied to a tensor whose pixels are ``j`` input pixels apart and see ``r`` input pixels:
``r_out = r + d·(k − 1)·j`` and ``j_out = j·s``. Starting point: the model input, r = j = 1.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence

from netinspect.analysis.diagnose.common import DIM_NAMES, fmt_size, op_name, per_dim, spatial_dims
from netinspect.analysis.layers import is_leaf
from netinspect.analysis.numbers import number_text
from netinspect.records import InspectionReport, LayerRecord, Shape, ShapeExplanation

# A tensor's place on the path: (receptive field, cumulative stride), per spatial dim.
_State = tuple[tuple[float, ...], tuple[float, ...]]


def _num(x: float) -> str:
    return number_text(x)


def _per_dim_lines(names: Sequence[str], texts: Sequence[str]) -> list[str]:
    """``H, W: <text>`` when every dim has the same arithmetic, else one line per dim."""
    if len(set(texts)) == 1:
        return [f"{', '.join(names)}: {texts[0]}"]
    return [f"{n}: {t}" for n, t in zip(names, texts, strict=False)]


def _io(row: LayerRecord) -> tuple[Shape, Shape] | None:
    if not row.input_shapes or not row.output_shapes:
        return None
    return row.input_shapes[0], row.output_shapes[0]


# --- per-type arithmetic ---------------------------------------------------------------------
# Each returns (lines, warnings) or None when the row's settings do not allow a formula.
_Arith = tuple[list[str], list[str]]


def _conv(row: LayerRecord) -> _Arith | None:
    io, n = _io(row), spatial_dims(row)
    if io is None or n is None:
        return None
    src, out = io
    attrs = row.attributes
    k = per_dim(attrs.get("kernel_size"), n)
    s = per_dim(attrs.get("stride", 1), n)
    d = per_dim(attrs.get("dilation", 1), n)
    sizes = src[-n:]
    lines = []
    if isinstance(attrs.get("in_channels"), int) and len(src) >= n + 1:
        lines.append(f"channels {src[-n - 1]} → {out[-n - 1]}")
    padding = attrs.get("padding", 0)
    if isinstance(padding, str):
        lines.append(
            f"padding={padding!r}: " + " × ".join(map(str, sizes)) + " → " + fmt_size(out[-n:])
        )
        return lines, []
    p = per_dim(padding, n)
    if k is None or s is None or d is None or p is None:
        return None
    if attrs.get("transposed") or row.type.startswith("ConvTranspose"):
        op = per_dim(attrs.get("output_padding", 0), n) or (0,) * n
        texts = [
            f"({h} − 1)·{st} − 2·{pd} + {dl}·({kk} − 1) + {o} + 1 = "
            f"{(h - 1) * st - 2 * pd + dl * (kk - 1) + o + 1}"
            for h, kk, st, pd, dl, o in zip(sizes, k, s, p, d, op, strict=False)
        ]
    else:
        texts = [
            f"⌊({h} + 2·{pd} − {dl}·({kk} − 1) − 1)/{st}⌋ + 1 = "
            f"{(h + 2 * pd - dl * (kk - 1) - 1) // st + 1}"
            for h, kk, st, pd, dl in zip(sizes, k, s, p, d, strict=False)
        ]
    return lines + _per_dim_lines(DIM_NAMES.get(n, tuple(f"d{i}" for i in range(n))), texts), []


def _pool_out(h: int, k: int, s: int, p: int, d: int, ceil: bool) -> tuple[int, bool]:
    """Output size of a max/avg pool, and whether ceil mode dropped a window that would start
    in the right padding (torch's rule: the last window must start inside input + left pad)."""
    span = h + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= h + p:
        return out - 1, True
    return out, False


def _pool(row: LayerRecord) -> _Arith | None:
    io, n = _io(row), spatial_dims(row)
    if io is None or n is None:
        return None
    src, _ = io
    attrs = row.attributes
    k = per_dim(attrs.get("kernel_size"), n)
    s = per_dim(attrs.get("stride") or attrs.get("kernel_size"), n)
    p = per_dim(attrs.get("padding", 0), n)
    d = per_dim(attrs.get("dilation", 1), n)
    if k is None or s is None or p is None or d is None:
        return None
    ceil = bool(attrs.get("ceil_mode"))
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    texts = []
    for h, kk, st, pd, dl in zip(src[-n:], k, s, p, d, strict=False):
        out, dropped = _pool_out(h, kk, st, pd, dl, ceil)
        # Spelled out as for convolutions (dilation·(kernel − 1) − 1), even at dilation 1, so
        # the two formulas read the same.
        text = f"{left}({h} + 2·{pd} − {dl}·({kk} − 1) − 1)/{st}{right} + 1"
        if dropped:
            text += " − 1 (the last window would start in the padding)"
        texts.append(f"{text} = {out}")
    lines = _per_dim_lines(DIM_NAMES.get(n, ()), texts)
    if ceil:
        lines.append("ceil_mode=True rounds up: a partial window at the edge still counts")
    return lines, []


def _adaptive_windows(size_in: int, size_out: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows: [⌊i·I/O⌋, ⌈(i+1)·I/O⌉) for each output index i."""
    return [(i * size_in // size_out, -(-(i + 1) * size_in // size_out)) for i in range(size_out)]


def _adaptive(row: LayerRecord) -> _Arith | None:
    io, n = _io(row), spatial_dims(row)
    if io is None or n is None:
        return None
    src, out = io
    sizes_in, sizes_out = src[-n:], out[-n:]
    texts = []
    for i, o in zip(sizes_in, sizes_out, strict=False):
        windows = _adaptive_windows(i, o)
        widths = {b - a for a, b in windows}
        starts = [a for a, _ in windows]
        steps = {b - a for a, b in itertools.pairwise(starts)}
        if o == i:
            texts.append(f"{i} → {o}: window 1 (passes values through)")
        elif o == 1:
            texts.append(f"{i} → 1: one window over all {i}")
        elif len(widths) == 1 and steps == widths:
            width = widths.pop()
            texts.append(f"{i} → {o}: window {width}, stride {width}")
        else:
            shown = " ".join(f"[{a},{b})" for a, b in windows[:8])
            more = f" … {len(windows) - 8} more" if len(windows) > 8 else ""
            texts.append(f"{i} → {o}: windows {shown}{more}")
    warnings = []
    if any(o > i for i, o in zip(sizes_in, sizes_out, strict=False)):
        warnings.append(
            f"upsampling: output {fmt_size(sizes_out)} from a {fmt_size(sizes_in)} input repeats values"
        )
    return _per_dim_lines(DIM_NAMES.get(n, ()), texts), warnings


def _reshape(row: LayerRecord) -> _Arith | None:
    io = _io(row)
    if io is None:
        return None
    src, out = io
    # A merge (flatten) or split (unflatten) of trailing dims: show the product.
    if len(out) < len(src) and src[: len(out) - 1] == out[:-1]:
        merged = src[len(out) - 1 :]
        if math.prod(merged) == out[-1]:
            return [f"{fmt_size(merged)} = {out[-1]}"], []
    if len(src) < len(out) and out[: len(src) - 1] == src[:-1]:
        split = out[len(src) - 1 :]
        if math.prod(split) == src[-1]:
            return [f"{src[-1]} = {fmt_size(split)}"], []
    if src != out:
        return [f"{fmt_size(src)} → {fmt_size(out)}: the same {math.prod(src)} elements"], []
    return None


def _linear(row: LayerRecord) -> _Arith | None:
    io = _io(row)
    features_in, features_out = (
        row.attributes.get("in_features"),
        row.attributes.get("out_features"),
    )
    if io is None or not isinstance(features_in, int) or not isinstance(features_out, int):
        return None
    return [f"last dim: in_features {features_in} → out_features {features_out}"], []


def _resize(row: LayerRecord) -> _Arith | None:
    """Upsample / interpolate: from the settings when a module has them, else the shapes."""
    io = _io(row)
    if io is None or len(io[0]) < 3:
        return None
    src, out = io
    n = len(src) - 2
    texts = []
    scale = row.attributes.get("scale_factor")
    for axis, (i, o) in enumerate(zip(src[2:], out[2:], strict=False)):
        factor = scale[axis] if isinstance(scale, tuple) else scale
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            texts.append(f"⌊{i} × {factor:g}⌋ = {o}")  # the factor as the model wrote it
        elif row.attributes.get("size") is not None:
            texts.append(f"size fixed: {i} → {o}")
        else:
            # No recorded setting (a call whose arguments were not plain values): the ratio.
            texts.append(f"{i} → {o} (×{_num(o / i)})" if i else f"{i} → {o}")
    mode = row.attributes.get("mode")
    lines = _per_dim_lines(DIM_NAMES.get(n, ()), texts)
    if isinstance(mode, str):
        lines.append(f"mode={mode}")
    return lines, []


def _arithmetic_rule(row: LayerRecord) -> Callable[[LayerRecord], _Arith | None] | None:
    t = row.type
    if row.kind == "function":
        op = op_name(row)
        if op in ("flatten", "view", "reshape", "unflatten"):
            return _reshape
        if op in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
            return _resize
        return None
    if t.startswith(("Conv", "LazyConv")):
        return _conv
    if t.startswith(("MaxPool", "AvgPool")):
        return _pool
    if t.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")):
        return _adaptive
    if t in ("Flatten", "Unflatten"):
        return _reshape
    if t in ("Linear", "LazyLinear", "Bilinear"):
        return _linear
    if t.startswith(("Upsample", "UpsamplingNearest", "UpsamplingBilinear")):
        return _resize
    return None


# --- cumulative stride and receptive field ---------------------------------------------------


def _window_step(
    row: LayerRecord, src: Shape, out: Shape, n: int
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(effective kernel, stride) per spatial dim for the receptive field recurrence."""
    attrs = row.attributes
    t = row.type
    if t.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")):
        kernels, strides = [], []
        for i, o in zip(src[-n:], out[-n:], strict=False):
            windows = _adaptive_windows(i, o)
            kernels.append(float(max(b - a for a, b in windows)))
            strides.append(i / o)
        return tuple(kernels), tuple(strides)
    if t.startswith(("Upsample", "UpsamplingNearest", "UpsamplingBilinear")) or (
        row.kind == "function" and op_name(row) == "interpolate"
    ):
        # With a scale factor, output pixel x samples input pixel x / factor: the spacing is
        # 1 / factor, not the ratio of sizes (13 → 6 at 0.5 is spacing 2, not 13/6).
        scale = attrs.get("scale_factor")
        factors = scale if isinstance(scale, tuple) else (scale,) * n
        return (1.0,) * n, tuple(
            1 / f if isinstance(f, (int, float)) and not isinstance(f, bool) and f else i / o
            for f, i, o in zip(factors, src[-n:], out[-n:], strict=False)
        )
    k = per_dim(attrs.get("kernel_size"), n)
    if k is None:
        return None
    s = per_dim(attrs.get("stride") or attrs.get("kernel_size"), n) or (1,) * n
    d = per_dim(attrs.get("dilation", 1), n) or (1,) * n
    effective = tuple(float(dl * (kk - 1) + 1) for kk, dl in zip(k, d, strict=False))
    if t.startswith("ConvTranspose"):
        # Each output pixel sees about ⌈k_eff / s⌉ input pixels; pixels get s times closer.
        return tuple(float(math.ceil(e / st)) for e, st in zip(effective, s, strict=False)), tuple(
            1 / st for st in s
        )
    return effective, tuple(float(st) for st in s)


def _merge(a: _State | None, b: _State) -> _State:
    """Two tensors of one shape (a residual sum, or a branch): keep the wider view."""
    if a is None or sum(b[0]) > sum(a[0]):
        return b
    return a


def _path_states(layers: Sequence[LayerRecord]) -> dict[int, _State]:
    """Receptive field and stride at the output of each spatial-window row.

    Tensors are followed by shape: each row's input takes the state of the latest tensor of
    that shape (widest view when several), which follows the main path through residual
    blocks without knowing their wiring.
    """
    if not layers or not layers[0].input_shapes:
        return {}
    by_shape: dict[Shape, _State] = {}
    first = layers[0].input_shapes[0]
    if len(first) >= 3:
        n0 = len(first) - 2
        by_shape[first] = ((1.0,) * n0, (1.0,) * n0)
    found: dict[int, _State] = {}
    for i, row in enumerate(layers):
        if not is_leaf(layers, i) or not row.input_shapes or not row.output_shapes:
            continue
        src, out = row.input_shapes[0], row.output_shapes[0]
        state = by_shape.get(src)
        if state is None or len(out) < 3 or len(out) != len(src):
            continue
        n = len(out) - 2
        if len(state[0]) != n:
            continue
        step = _window_step(row, src, out, n)
        if step is None:
            if src[2:] != out[2:]:
                continue  # resized by something without a known window: the path is lost
            for extra in row.input_shapes[1:]:
                if extra[2:] == out[2:] and extra in by_shape:
                    state = _merge(state, by_shape[extra])
            by_shape[out] = _merge(by_shape.get(out), state) if out != src else state
            continue
        kernel, stride = step
        rf, jump = state
        new = (
            tuple(r + (k - 1) * j for r, k, j in zip(rf, kernel, jump, strict=False)),
            tuple(j * s for j, s in zip(jump, stride, strict=False)),
        )
        found[row.index] = new
        by_shape[out] = _merge(by_shape.get(out), new)
    return found


def explain_layers(layers: Sequence[LayerRecord]) -> tuple[ShapeExplanation, ...]:
    """One explanation per row that has shape arithmetic or a place on the spatial path."""
    states = _path_states(layers)
    out: list[ShapeExplanation] = []
    for row in layers:
        rule = _arithmetic_rule(row)
        result = rule(row) if rule is not None else None
        state = states.get(row.index)
        if result is None and state is None:
            continue
        lines, warnings = result if result is not None else ([], [])
        out.append(
            ShapeExplanation(
                layer_index=row.index,
                arithmetic=tuple(lines),
                cumulative_stride=state[1] if state else None,
                receptive_field=state[0] if state else None,
                warnings=tuple(warnings),
            )
        )
    return tuple(out)


def explain_report(report: InspectionReport) -> InspectionReport:
    """The report with ``explanations`` filled in (what ``--explain`` prints); with named
    input dims, as formulas of them (``analysis.symbolic_explain``)."""
    explained = dataclasses.replace(report, explanations=explain_layers(report.layers))
    if report.symbolic is not None:
        from netinspect.analysis.symbolic_explain import explain_symbolic

        explained = explain_symbolic(explained)
    return explained
