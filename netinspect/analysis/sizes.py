"""``netinspect sizes``: which input sizes a model accepts, found by probing on the meta device.

The model is built once on meta (no memory, no init) and run in eval mode, without hooks, once
per candidate size: a pass costs milliseconds there. Each free dim (the spatial dims of an
NCHW-like input, or the length of an (N, L) one) is varied alone, the others kept as given.
Then a few captured passes explain the edges: why the size below the minimum (or above the
maximum) fails, and which adaptive pooling layer fixes the output.

The records and ``summarize`` are pure; torch is imported only inside ``probe_sizes``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from netinspect.analysis.intsets import members_up_to
from netinspect.display import SizesDisplay
from netinspect.errors import InputSpecError
from netinspect.records import Progression, Shape, SymShape
from netinspect.specs import InputSpec, TensorSpec, format_input_spec, int_shape, tensor_specs
from netinspect.symexpr import describe_set, evaluate, names_in

# How far past the probed window we look to call a dim unbounded.
_FAR_FACTORS = (2, 4)


@dataclass(frozen=True, slots=True)
class DimSizes:
    """What one free input dim accepts, within ``1..probed_up_to`` plus the far probes."""

    dim: int
    label: str
    given: int
    probed_up_to: int
    # Contiguous runs of accepted sizes inside the probed window, e.g. ((224, 255),).
    accepted: tuple[tuple[int, int], ...]
    minimum: int | None
    # None when the far probes (2x, 4x the window) pass too: unbounded as far as we can tell.
    maximum: int | None
    # Accepted sizes are minimum + k·step; 1 when every size in the range works.
    step: int | None
    output_depends: bool
    # Output shape at the smallest and at the given size, to show how it depends.
    output_samples: tuple[tuple[int, tuple[Shape, ...]], ...]
    below_minimum: str | None
    above_maximum: str | None
    # The exact set of accepted sizes (the other dims as given), when the symbolic method
    # answered; None when sizes were probed.
    valid: tuple[Progression, ...] | None = None
    # How this dim was answered: "symbolic: 2 passes, concrete: 16 sizes".
    method_detail: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class SizesReport(SizesDisplay):
    model: str
    input_shape: Shape
    mode: str
    device: str
    dims: tuple[DimSizes, ...]
    outputs: tuple[Shape, ...]
    output_constant: bool
    # "avgpool (AdaptiveAvgPool2d) fixes 7×7" when such a layer makes the output constant.
    fixed_by: str | None
    probes: int
    seconds: float
    summary: str
    # The diagnosis when the given input itself fails.
    given_failure: str | None = None
    # Positions (0 = the first) of the inputs whose dims were varied together: the first, and
    # with ``vary="all"`` every other input of the same shape (RAFT's two images).
    varied_inputs: tuple[int, ...] = (0,)
    # "symbolic": derived from the conditions of symbolic passes (exact); "probing": sizes
    # tried one by one (``fallback`` says why the symbolic pass could not run).
    method: str = "probing"
    fallback: str | None = None
    # Conditions tying several dims together ("(H//32)*(W//32) == 49"), Python syntax.
    joint_conditions: tuple[str, ...] = ()
    # The outputs as formulas of the named dims, from the symbolic pass.
    outputs_symbolic: tuple[SymShape, ...] = ()
    symbolic_passes: int = 0
    # "at H, W < 224, avgpool (AdaptiveAvgPool2d) upsamples to 7×7 by repeating values": the
    # sizes that run but feed the layers after an adaptive pool copies (symbolic method only).
    upsampling: str | None = None


def dim_labels(shape: Shape) -> dict[int, str]:
    """The free dims of an input and their names: spatial dims of (N, C, ...) inputs, the
    length of (N, L) ones."""
    rank = len(shape)
    if rank >= 3:
        names = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(rank - 2)
        return {2 + i: (names[i] if names else f"dim {2 + i}") for i in range(rank - 2)}
    if rank == 2:
        return {1: "L"}
    return {}


def runs(sizes: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Sorted sizes as contiguous (first, last) runs."""
    out: list[tuple[int, int]] = []
    for s in sorted(sizes):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return tuple(out)


def find_step(sizes: Sequence[int]) -> int | None:
    """``g`` when the sizes are exactly min, min+g, min+2g, ... up to their max; else None."""
    if len(sizes) < 2:
        return 1 if sizes else None
    first, last = min(sizes), max(sizes)
    g = 0
    for s in sizes:
        g = math.gcd(g, s - first)
    if set(sizes) == set(range(first, last + 1, g)):
        return g
    return None


def _fmt_shape(shape: Shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def join_shapes(shapes: Sequence[Shape], fmt: Callable[[Shape], str] = _fmt_shape) -> str:
    """Shapes separated by spaces, a run of equal ones once with its count: RAFT's 12 flow
    fields read ``12 × [1,2,224,224]``, not the shape twelve times."""
    parts = [
        (f"{len(group)} × " if len(group) > 1 else "") + fmt(shape)
        for shape, group in ((s, list(g)) for s, g in itertools.groupby(shapes))
    ]
    return " ".join(parts)


def describe_dim(d: DimSizes) -> str:
    """``≥ 32``, ``224 to 255 only``, ``≥ 32, in steps of 32 (32, 64, ...)``, or the runs."""
    if d.valid is not None:
        return describe_set(d.valid)
    if d.minimum is None:
        return f"no size from 1 to {d.probed_up_to} works"
    if d.step is None:
        shown = ", ".join(f"{a}–{b}" if a != b else str(a) for a, b in d.accepted[:6])
        more = ", ..." if len(d.accepted) > 6 else ""
        return f"only {shown}{more}" + (" (and beyond)" if d.maximum is None else "")
    if d.maximum is None:
        text = f"≥ {d.minimum}"
    elif d.maximum == d.minimum:
        text = f"exactly {d.minimum}"
    else:
        text = f"{d.minimum} to {d.maximum} only"
    if d.step > 1:
        text += f", in steps of {d.step} ({d.minimum}, {d.minimum + d.step}, ...)"
    return text


def summarize(
    model: str,
    mode: str,
    dims: Sequence[DimSizes],
    outputs: tuple[Shape, ...],
    fixed_by: str | None,
) -> str:
    """One sentence: ``vgg16 (eval mode): H, W ≥ 32; output always [1,1000] because ...``."""
    groups: dict[str, list[str]] = {}
    for d in dims:
        groups.setdefault(describe_dim(d), []).append(d.label)
    parts = [f"{', '.join(labels)} {text}" for text, labels in groups.items()]
    text = f"{model} ({mode} mode): " + ("; ".join(parts) if parts else "no free dims")
    if dims and not any(d.output_depends for d in dims) and any(d.minimum for d in dims):
        text += "; output always " + join_shapes(outputs)
        if fixed_by:
            text += f" because {fixed_by}"
    elif any(d.output_depends for d in dims):
        depends = [d.label for d in dims if d.output_depends]
        text += f"; the output shape depends on {', '.join(depends)}"
    return text


# --- the search (pure: ``probe`` runs the model at one size) --------------------------------

_DENSE = 64  # every size up to here is probed: minimums and small periods live there
_COARSE_POINTS = 24  # samples above the dense part; each accept/reject change is then pinned


Outcome = tuple[Shape, ...] | None  # output shapes, or None when that size was rejected


def _pattern_region(results: dict[int, Outcome], window: int) -> tuple[list[int], int]:
    """The densely probed stretch that shows the accepted sizes' pattern: (its accepted
    sizes, its last size). Normally 1..64; when nothing there is accepted, the 64 sizes from
    the first accepted one (``scan_dim`` probes those densely too)."""
    dense_end = min(window, _DENSE)
    low = [n for n in range(1, dense_end + 1) if results.get(n) is not None]
    if low:
        return low, dense_end
    first = min((n for n, o in results.items() if o is not None and n <= window), default=None)
    if first is None:
        return [], dense_end
    end = min(window, first + _DENSE - 1)
    return [n for n in range(first, end + 1) if results.get(n) is not None], end


def scan_dim(probe: Callable[[int], Outcome], given: int, window: int) -> dict[int, Outcome]:
    """Probe sizes 1..window of one dim: all of 1..64, then a coarse grid whose accept/reject
    changes are pinned exactly by bisection. When the dense part shows a period (16, 32, 48,
    64 accepted), the grid follows it. When nothing up to 64 is accepted, the grid first looks
    for an accepted size, and the stretch from the grid point before it to 64 sizes past it is
    probed densely: the minimum and the period (RAFT: multiples of 8 from 128) show there.
    Assumes no change hides between two grid points that agree, which holds for conv/pool
    arithmetic (windows and strides give runs or periods)."""
    results: dict[int, Outcome] = {}

    def ok(n: int) -> bool:
        if n not in results:
            results[n] = probe(n)
        return results[n] is not None

    dense_end = min(window, _DENSE)
    for n in range(1, dense_end + 1):
        ok(n)
    ok(given)
    grid = max(1, -(-(window - dense_end) // _COARSE_POINTS))
    if not any(results[n] is not None for n in range(1, dense_end + 1)) and window > dense_end:
        # The given size is a probe like the grid's: when it is the first size accepted (a
        # flat Linear(784) input accepts 784 alone), the stretch around it is probed densely.
        points = sorted({*range(dense_end + grid, window + 1, grid), window, given})
        previous = dense_end
        for n in points:
            if n > dense_end and ok(n):
                for m in range(previous + 1, min(window, n + _DENSE - 1) + 1):
                    ok(m)
                break
            previous = max(previous, n)
    low, pattern_end = _pattern_region(results, window)
    _pin_changes(ok, results, dense_end, pattern_end)
    step = (find_step(low) or 1) if len(low) >= 2 else 1
    anchor = low[0] if step > 1 else pattern_end
    if window > pattern_end:
        grid = max(step, -(-(window - pattern_end) // _COARSE_POINTS))
        grid = -(-grid // step) * step
        points = list(range(anchor + grid, window + 1, grid))
        last = anchor + (window - anchor) // step * step
        if last > anchor and last not in points:
            points.append(last)
        for n in points:
            ok(n)
        aligned = sorted(n for n in results if n >= anchor and (n - anchor) % step == 0)
        for a, b in itertools.pairwise(aligned):
            if ok(a) == ok(b):
                continue
            # Bisect over aligned sizes for the first one that behaves like b.
            lo, hi = a, b
            while hi - lo > step:
                mid = lo + (hi - lo) // step // 2 * step
                if ok(mid) == ok(a):
                    lo = mid
                else:
                    hi = mid
    return results


def _pin_changes(
    ok: Callable[[int], bool], results: dict[int, Outcome], start: int, end: int
) -> None:
    """Between ``start`` and ``end`` every size counts (no period applies there yet): where
    two neighbouring probed sizes disagree, bisect to the exact size where it changes, so that
    ``infer_accepted`` never extends a result across a change it did not see."""
    probed = sorted(n for n in results if start <= n <= end)
    for a, b in itertools.pairwise(probed):
        if b - a < 2 or ok(a) == ok(b):
            continue
        lo, hi = a, b
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid) == ok(a):
                lo = mid
            else:
                hi = mid


def infer_accepted(results: dict[int, Outcome], window: int) -> list[int]:
    """Accepted sizes in 1..window: probed ones as found; the others like the probed size
    below them on their grid (after bisection, both neighbours agree)."""
    accepted = []
    low, pattern_end = _pattern_region(results, window)
    step = (find_step(low) or 1) if len(low) >= 2 else 1
    anchor = low[0] if step > 1 else pattern_end
    previous: bool | None = None
    for n in range(1, window + 1):
        if n in results:
            previous = results[n] is not None
            is_ok = previous
        elif n > anchor and (n - anchor) % step:
            is_ok = False
        else:
            is_ok = bool(previous)
        if is_ok:
            accepted.append(n)
    return accepted


def fixed_by(
    row_keys: Sequence[tuple[str, int, str]],
    row_shapes: Sequence[tuple[tuple[SymShape, ...], tuple[SymShape, ...]]],
) -> str | None:
    """The first row whose spatial output no longer depends on the names while its input did
    (an adaptive pool, a resize to a fixed size): ``avgpool (AdaptiveAvgPool2d) fixes 7×7``."""
    for (name, _, type_name), (ins, outs) in zip(row_keys, row_shapes, strict=False):
        if not ins or not outs or len(ins[0]) < 3 or len(outs[0]) != len(ins[0]):
            continue
        depends_in = any(names_in(d) for d in ins[0][2:])
        depends_out = any(names_in(d) for d in outs[0][2:])
        if depends_in and not depends_out:
            return f"{name or '(root)'} ({type_name}) fixes {'×'.join(outs[0][2:])}"
    return None


# --- named dims (the symbolic method, ``pipeline.sizes``) ---------------------------------


def name_free_dims(
    specs: tuple[InputSpec, ...], vary: str
) -> tuple[tuple[InputSpec, ...], dict[str, int], tuple[int, ...]]:
    """Plain specs (``1x3x224x224``) with their free dims named as ``sizes`` always varied
    them (H and W of the first input; with ``vary="all"`` the same dims of every input of the
    same shape, which then move together), the given sizes as hints."""
    first = specs[0].value
    if not isinstance(first, TensorSpec):
        raise InputSpecError(format_input_spec(specs[0]), "sizes varies a tensor input, not a list")
    base = int_shape(first)
    labels = dim_labels(base)
    if not labels:
        raise InputSpecError(format_input_spec(specs[0]), "a 1-D input has no free dim to vary")
    hints = {label: base[i] for i, label in labels.items()}
    out = []
    linked = []
    for k, spec in enumerate(specs):
        value = spec.value
        same = isinstance(value, TensorSpec) and value.shape == first.shape
        if k == 0 or (vary == "all" and same):
            assert isinstance(value, TensorSpec)
            shape = tuple(labels.get(i, d) for i, d in enumerate(value.shape))
            out.append(InputSpec(spec.name, TensorSpec(shape, value.dtype)))
            linked.append(k)
        else:
            out.append(spec)
    return tuple(out), hints, tuple(linked)


def outputs_at(outputs: Sequence[Sequence[str]], sizes: Mapping[str, int]) -> tuple[Shape, ...]:
    """The symbolic pass's output shapes at given sizes (inside its region)."""
    return tuple(tuple(int(evaluate(d, sizes)) for d in shape) for shape in outputs)


def first_positions(specs: Sequence[InputSpec]) -> dict[str, int]:
    out: dict[str, int] = {}
    for spec in specs:
        for t in tensor_specs(spec):
            for i, d in enumerate(t.shape):
                if isinstance(d, str):
                    out.setdefault(d, i)
    return out


def exact_bounds(
    valid: Sequence[Progression], window: int
) -> tuple[list[int], int | None, int | None, int | None]:
    """(accepted sizes in 1..window, minimum, maximum or None, step or None) of an exact set."""
    accepted = members_up_to(valid, window)
    minimum = valid[0].start if valid else None
    maximum = None
    if valid and all(p.stop is not None for p in valid):
        maximum = max(p.stop for p in valid if p.stop is not None)
    return accepted, minimum, maximum, valid[0].step if len(valid) == 1 else None


def probed_bounds(
    accepted: Sequence[int], unbounded: bool
) -> tuple[int | None, int | None, int | None]:
    """(minimum, maximum or None, step or None) of sizes probed in a window."""
    if not accepted:
        return None, None, None
    return accepted[0], None if unbounded else accepted[-1], find_step(accepted)


def method_detail(
    name: str,
    symbolic_passes: int,
    concrete_sizes: int,
    unexplored_from: int | None,
    probed_window: int | None,
    unsolved: str | None = None,
) -> str:
    """``symbolic: 2 passes, concrete: 16 sizes``, and what was left to probing (``unsolved``:
    why the symbolic conditions were not trusted, when that was the reason)."""
    text = f"symbolic: {symbolic_passes} pass{'es' if symbolic_passes != 1 else ''}"
    if concrete_sizes:
        text += f", concrete: {concrete_sizes} size{'s' if concrete_sizes != 1 else ''}"
    if unexplored_from is not None:
        text += f"; sizes from {unexplored_from} on not all explored"
    if probed_window is not None and unsolved is not None:
        text += (
            f"; then probed 1 to {probed_window}: the symbolic conditions on {name} could not "
            f"be solved exactly ({unsolved}), so they are not trusted"
        )
    elif probed_window is not None:
        text += (
            f"; then probed 1 to {probed_window}: torch fixes {name} to a constant on a "
            "symbolic pass (the model uses the size as a plain int), so each pass covers one size"
        )
    return text
