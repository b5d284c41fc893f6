"""``netinspect sizes``: which input sizes a model accepts, found by probing on the meta device.

The model is built once on meta (no memory, no init) and run in eval mode, without hooks, once
per candidate size: a pass costs milliseconds there. Each free dim (the spatial dims of an
NCHW-like input, or the length of an (N, L) one) is varied alone, the others kept as given.
Then a few captured passes explain the edges: why the size below the minimum (or above the
maximum) fails, and which adaptive pooling layer fixes the output.

The records and ``summarize`` are pure; torch is imported only inside ``probe_sizes``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from netinspect.records import Shape

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


@dataclass(frozen=True, slots=True)
class SizesReport:
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


def describe_dim(d: DimSizes) -> str:
    """``≥ 32``, ``224 to 255 only``, ``≥ 32, in steps of 32 (32, 64, ...)``, or the runs."""
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
        text += "; output always " + " ".join(_fmt_shape(s) for s in outputs)
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
        points = [*range(dense_end + grid, window + 1, grid), window]
        previous = dense_end
        for n in points:
            if ok(n):
                for m in range(previous + 1, min(window, n + _DENSE - 1) + 1):
                    ok(m)
                break
            previous = n
    low, pattern_end = _pattern_region(results, window)
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


# --- probing (torch) -----------------------------------------------------------------------


def probe_sizes(
    model_name: str,
    input_spec: str | Sequence[str] | None = None,
    *,
    up_to: int | None = None,
    allow_import: tuple[str, ...] = (),
    vary: str = "all",
) -> SizesReport:
    """Probe which sizes of each free dim of the first input the model accepts (meta device,
    eval mode). ``up_to``: the probed window per dim (default: twice the given size, at least
    64). ``vary``: "all" changes every input shaped like the first in lockstep with it (two
    images that must match), "first" only the first. Raises UsageError when the model cannot
    run on meta at all."""
    import time

    import torch

    from netinspect.errors import (
        ForwardFailed,
        InputSpecError,
        UsageError,
        describe_exception,
        first_line,
    )
    from netinspect.inspector import _is_meta_limitation, build_model, inspect_model
    from netinspect.loading import resolve_target
    from netinspect.specs import TensorSpec, format_input_spec, parse_input_specs

    start = time.perf_counter()
    target = resolve_target(model_name, allow_import=allow_import)
    requested = [input_spec] if isinstance(input_spec, str) else list(input_spec or ())
    specs_text = requested or list(target.default_inputs or ())
    if not specs_text:
        raise InputSpecError(
            "", f"{target.name} has no default input: pass one, e.g. --input 1x3x224x224"
        )
    specs = parse_input_specs(specs_text)
    first = specs[0]
    if not isinstance(first.value, TensorSpec):
        raise InputSpecError(specs_text[0], "sizes varies a plain tensor input, not a list input")
    base = first.value
    labels = dim_labels(base.shape)
    if not labels:
        raise InputSpecError(specs_text[0], "a 1-D input has no free dim to vary")
    if up_to is not None and up_to < 1:
        raise UsageError("--up-to must be at least 1")
    if vary not in ("all", "first"):
        raise UsageError(f"--vary must be 'all' or 'first', not {vary!r}")
    # Inputs whose shape equals the first's take the probed size too.
    linked = {
        i
        for i, s in enumerate(specs)
        if i == 0
        or (vary == "all" and isinstance(s.value, TensorSpec) and s.value.shape == base.shape)
    }

    device = torch.device("meta")
    model = build_model(target, device)
    model.eval()
    float_dtype = torch.float32

    def tensor(spec: TensorSpec) -> torch.Tensor:
        dtype = getattr(torch, spec.dtype) if spec.dtype else float_dtype
        return torch.zeros(spec.shape, dtype=dtype, device=device)

    def resized(i: int, shape: Shape) -> TensorSpec:
        """Input ``i``'s spec at the probed ``shape`` (unchanged when it is not linked)."""
        value = specs[i].value
        assert isinstance(value, TensorSpec)
        return TensorSpec(shape, value.dtype) if i in linked else value

    others = [i for i, s in enumerate(specs) if i and isinstance(s.value, TensorSpec)]
    probes = 0

    def run(shape: Shape) -> tuple[tuple[Shape, ...] | None, BaseException | None]:
        nonlocal probes
        probes += 1
        x = tensor(TensorSpec(shape, base.dtype))
        rest = [tensor(resized(i, shape)) for i in others if specs[i].name is None]
        named: dict[str, Any] = {
            name: tensor(resized(i, shape)) for i in others if (name := specs[i].name)
        }
        kwargs = {**target.default_args, **named}
        try:
            with torch.no_grad(), torch.device(device):
                out = model(x, *rest, **kwargs)
        except Exception as exc:  # the model rejected this size
            return None, exc
        from netinspect.capture import shape_of, tensor_leaves

        return tuple(shape_of(t) for t in tensor_leaves(out)), None

    given_out, given_exc = run(base.shape)
    if given_exc is not None and _is_meta_limitation(given_exc):
        raise UsageError(
            f"sizes probes on the meta device, but {target.name} cannot run there: "
            f"{first_line(given_exc)[:160]}"
        )

    def explain_failure(shape: Shape) -> str | None:
        """The diagnosis of one failing size, from a captured pass."""
        texts = [
            format_input_spec(type(s)(s.name, resized(i, shape)))
            if i in linked
            else format_input_spec(s)
            for i, s in enumerate(specs)
        ]
        try:
            inspect_model(model, inputs=texts, device="meta")
        except ForwardFailed as exc:
            return exc.report.error.message if exc.report.error else str(exc)
        except Exception as exc:
            return describe_exception(exc)
        return None

    dims: list[DimSizes] = []
    for dim, label in labels.items():
        given = base.shape[dim]
        window = up_to or max(2 * given, 64)

        def with_size(n: int, dim: int = dim) -> Shape:
            return (*base.shape[:dim], n, *base.shape[dim + 1 :])

        seen: dict[int, Outcome] = {base.shape[dim]: given_out}

        def probe(
            n: int, with_size: Callable[[int], Shape] = with_size, seen: dict[int, Outcome] = seen
        ) -> Outcome:
            if n not in seen:
                seen[n] = run(with_size(n))[0]
            return seen[n]

        twin = next((d for d in dims if d.given == given and d.probed_up_to == window), None)
        reused = twin is not None and _same_as(twin, probe, window)
        if reused and twin is not None:
            # Square models treat H and W alike: the checks above probed this dim's edges.
            accepted = [n for a, b in twin.accepted for n in range(a, b + 1)]
            results = {n: probe(n) for n in ({accepted[0], given} if accepted else {given})}
        else:
            results = scan_dim(probe, given, window)
            accepted = infer_accepted(results, window)
        outputs = {n: o for n, o in results.items() if o is not None}
        far = {f * window: probe(f * window) for f in _FAR_FACTORS}
        unbounded = (
            bool(accepted) and accepted[-1] == window and all(o is not None for o in far.values())
        )
        minimum = accepted[0] if accepted else None
        maximum = None if unbounded or not accepted else accepted[-1]
        all_outputs = list(outputs.values()) + [o for o in far.values() if o is not None]
        depends = len(set(all_outputs)) > 1
        samples = (
            tuple((n, outputs[n]) for n in sorted({accepted[0], given}) if n in outputs)
            if accepted
            else ()
        )
        # Each size probed counts once, the dense scan included.
        below = explain_failure(with_size(minimum - 1)) if minimum and minimum > 1 else None
        above = None
        if maximum is not None and maximum < window:
            above = explain_failure(with_size(maximum + 1))
        dims.append(
            DimSizes(
                dim=dim,
                label=label,
                given=given,
                probed_up_to=window,
                accepted=runs(accepted),
                minimum=minimum,
                maximum=maximum,
                step=find_step(accepted) if accepted else None,
                output_depends=depends,
                output_samples=samples,
                below_minimum=below,
                above_maximum=above,
            )
        )

    fixed_by = _fixed_by(model, specs_text, inspect_model) if given_out is not None else None
    constant = not any(d.output_depends for d in dims)
    outputs_at_given = given_out or ()
    return SizesReport(
        model=target.name,
        input_shape=base.shape,
        mode="eval",
        device="meta",
        dims=tuple(dims),
        outputs=outputs_at_given,
        output_constant=constant,
        fixed_by=fixed_by if constant else None,
        probes=probes,
        seconds=round(time.perf_counter() - start, 3),
        summary=summarize(
            target.name, "eval", dims, outputs_at_given, fixed_by if constant else None
        ),
        given_failure=explain_failure(base.shape) if given_out is None else None,
        varied_inputs=tuple(sorted(linked)),
    )


def _same_as(twin: DimSizes, probe: Callable[[int], Outcome], window: int) -> bool:
    """Whether this dim accepts exactly where ``twin`` does, checked at twin's run edges,
    the given size and the window's end."""
    checks: set[int] = {1, twin.given, window}
    if twin.step and twin.step > 1 and twin.minimum is not None:
        # A period: its first two members, the sizes around them, and the last one. (Every
        # run's edges would be a probe or six per member: RAFT's passes take 0.7 s each.)
        first, step = twin.minimum, twin.step
        checks |= {first - 1, first, first + 1, first + step - 1, first + step}
        checks |= {twin.accepted[-1][1], twin.accepted[-1][1] + 1}
    else:
        for a, b in twin.accepted:
            checks |= {a - 1, a, a + 1, b - 1, b, b + 1}
    inside = {n for a, b in twin.accepted for n in (a, b)}
    for n in sorted(c for c in checks if 1 <= c <= window):
        expected = any(a <= n <= b for a, b in twin.accepted)
        if (probe(n) is not None) != expected:
            return False
    return bool(inside) or all(probe(n) is None for n in (1, window))


def _fixed_by(model: Any, specs: list[str], inspect: Callable[..., Any]) -> str | None:
    """The adaptive pooling layer that pins the spatial size, from one captured pass."""
    report = inspect(model, inputs=specs, device="meta")
    for row in report.layers:
        is_adaptive = row.type.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")) or (
            row.kind == "function" and "adaptive" in row.name.rsplit(".", 1)[-1]
        )
        if is_adaptive and row.output_shapes and len(row.output_shapes[0]) >= 3:
            size = "×".join(str(d) for d in row.output_shapes[0][2:])
            return f"{row.name} ({row.type}) fixes {size}"
    return None
