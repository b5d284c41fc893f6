"""Adaptive pooling that upsamples: an ``AdaptiveAvgPool2d((7, 7))`` given a 3×3 map makes
7×7 by repeating values (torch's windows ``[⌊i·I/O⌋, ⌈(i+1)·I/O⌉)`` overlap when O > I). The
model runs and its output shape looks right, so nothing else tells the user that the head is
fed copies. Pure functions of rows (plain shapes) and of symbolic row shapes (formulas)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netinspect.records import LayerRecord, SymShape
from netinspect.symexpr import ExprSyntaxError, evaluate, names_in

# Far enough for any image or sequence; the search doubles up to here and gives up beyond.
_SEARCH_LIMIT = 1 << 24


def fmt_size(dims: Sequence[int]) -> str:
    return "×".join(str(d) for d in dims)


def is_adaptive_pool(type_name: str) -> bool:
    """``AdaptiveAvgPool2d``, ``AdaptiveMaxPool1d``, ``F.adaptive_avg_pool2d``, ..."""
    bare = type_name.rsplit(".", 1)[-1].lower()
    return bare.startswith("adaptive") and "pool" in bare


def _spatial_rank(type_name: str) -> int:
    return int(type_name[-2]) if type_name.endswith(("1d", "2d", "3d")) else 1


def _label(name: str, type_name: str) -> str:
    return f"{name or '(root)'} ({type_name})"


def upsampling_notes(layers: Sequence[LayerRecord]) -> list[str]:
    """One note per adaptive pooling row whose output is larger than its input in a spatial
    dim: ``avgpool (AdaptiveAvgPool2d) upsamples 3×3 → 7×7 by repeating values ...``."""
    notes = []
    for row in layers:
        if not is_adaptive_pool(row.type) or not row.input_shapes or not row.output_shapes:
            continue
        src, out = row.input_shapes[0], row.output_shapes[0]
        n = _spatial_rank(row.type)
        if len(src) < n or len(out) != len(src):
            continue
        size_in, size_out = src[-n:], out[-n:]
        if any(o > i for i, o in zip(size_in, size_out, strict=True)):
            notes.append(
                f"{_label(row.name, row.type)} upsamples {fmt_size(size_in)} → "
                f"{fmt_size(size_out)} by repeating values: the input is too small for its "
                f"fixed output size, so the layers after it see copies, not pooled features"
            )
    return notes


def _smallest_reaching(
    formula: str, name: str, sizes: Mapping[str, int], target: int
) -> int | None:
    """The smallest value of ``name`` at which ``formula`` (with the other names at ``sizes``)
    is at least ``target``. Window arithmetic never shrinks when its input grows, so a
    doubling search then a bisection finds it; None when nothing up to the limit does."""

    def reaches(value: int) -> bool:
        try:
            return bool(evaluate(formula, {**sizes, name: value}) >= target)
        except (ArithmeticError, ExprSyntaxError, KeyError, TypeError, ValueError):
            return False

    high = 1
    while not reaches(high):
        high *= 2
        if high > _SEARCH_LIMIT:
            return None
    low = high // 2  # reaches(low) is False, or low is 0
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def upsampling_below(
    row_keys: Sequence[tuple[str, int, str]],
    row_shapes: Sequence[tuple[tuple[SymShape, ...], tuple[SymShape, ...]]],
    hints: Mapping[str, int],
    minimums: Mapping[str, int | None],
) -> str | None:
    """For ``sizes``: below which input sizes an adaptive pool upsamples, from the formulas of
    its input and its fixed output: ``below H, W = 224, avgpool (AdaptiveAvgPool2d)
    upsamples to 7×7 by repeating values``. ``minimums``: the smallest size each dim accepts
    (a threshold at or below it says nothing). None when no adaptive pool upsamples at sizes
    the model accepts."""
    for (name, _, type_name), (ins, outs) in zip(row_keys, row_shapes, strict=False):
        if not is_adaptive_pool(type_name) or not ins or not outs:
            continue
        n = _spatial_rank(type_name)
        src, out = ins[0], outs[0]
        if len(src) < n or len(out) != len(src):
            continue
        thresholds: dict[str, int] = {}
        for formula, fixed in zip(src[-n:], out[-n:], strict=True):
            used = names_in(formula)
            if len(used) != 1 or names_in(fixed) or not fixed.isdigit():
                continue
            (dim,) = used
            smallest = _smallest_reaching(formula, dim, hints, int(fixed))
            if smallest is not None and smallest > (minimums.get(dim) or 1):
                thresholds[dim] = max(thresholds.get(dim, 0), smallest)
        if not thresholds:
            continue
        if len(set(thresholds.values())) == 1:
            where = f"{', '.join(thresholds)} < {next(iter(thresholds.values()))}"
        else:
            where = " or ".join(f"{d} < {v}" for d, v in thresholds.items())
        return (
            f"at {where}, {_label(name, type_name)} upsamples to "
            f"{'×'.join(out[-n:])} by repeating values"
        )
    return None
