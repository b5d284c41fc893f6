"""``sizes MODEL --train --gpu NAME``: the largest batch (or sequence length, or any one named
dim) whose training step fits the GPU, by search over meta steps.

Each trial is a whole ``--train`` step at that size (``pipeline.train``), judged with the GPU's
allowances (``pipeline.gpu_fit``). The search first guesses: a step's memory is close to affine
in the batch (activations scale with it, model states don't), so two small trials extrapolate
to a candidate, and the candidate and the size after it are tried. When they don't bracket the
answer (attention grows with the square of a sequence), it searches the usual way: doubling
until a size does not fit, then halving the bracket. Every verdict is a measured step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from netinspect.errors import UsageError
from netinspect.pipeline.run import build_for, prepare_for, resolve_request
from netinspect.pipeline.train import TrainOptions, check_train_options, measure_training
from netinspect.specs import (
    InputSpec,
    TensorSpec,
    bind_hints,
    dim_names,
    format_input_spec,
    parse_input_specs,
)
from netinspect.training_records import FitSearch, FitTrial, GpuFit

META = torch.device("meta")
MAX_SIZE = 1 << 24


def _name_the_batch(specs: tuple[InputSpec, ...]) -> tuple[tuple[InputSpec, ...], str]:
    """The specs with the varied dim named: the one named dim, or the first input's first dim
    as ``B``."""
    names = dim_names(specs)
    if len(names) > 1:
        raise UsageError(
            f"--train: vary one dim at a time; the inputs name {', '.join(names)} "
            "(give the others as sizes)"
        )
    if names:
        return specs, names[0]
    first = specs[0]
    if isinstance(first.value, tuple) or not first.value.shape:
        raise UsageError("--train: name the dim to vary in --input (Bx3x224x224, 1xS:int64)")
    t = first.value
    named = InputSpec(first.name, TensorSpec(("B", *t.shape[1:]), t.dtype, t.fill))
    return (named, *specs[1:]), "B"


def find_largest_fitting(
    model_or_name: nn.Module | str,
    inputs: list[str] | None,
    options: TrainOptions,
    *,
    dtype: str | None = None,
    allow_import: tuple[str, ...] = (),
    up_to: int = MAX_SIZE,
    progress: Callable[[int, str], None] | None = None,
) -> FitSearch:
    """The largest size of the varied dim whose step fits ``options``' GPU (see the module)."""
    if options.gpu is None and options.gpu_memory_bytes is None:
        raise UsageError("sizes --train needs --gpu NAME or --gpu-memory SIZE")
    check_train_options(options)
    request = resolve_request(model_or_name, inputs, META, dtype, allow_import=allow_import)
    texts = inputs or request.target.default_inputs
    if not texts:
        raise UsageError("--train: give --input with the dim to vary (Bx3x224x224)")
    specs, dim = _name_the_batch(parse_input_specs(list(texts)))
    model = request.model if request.model is not None else build_for(request, META)
    if model is request.model:
        from netinspect.sources.build import copy_to

        model = copy_to(model, META, None)
    trials: dict[int, FitTrial] = {}
    fits_at: dict[int, GpuFit] = {}

    def fits(size: int) -> bool:
        if size not in trials:
            request.specs = bind_hints(specs, {dim: size})
            record = measure_training(model, prepare_for(request, META), request, options)
            assert record.gpu is not None
            fits_at[size] = record.gpu
            trials[size] = FitTrial(
                size, record.peak_bytes, record.gpu.needed_bytes, record.gpu.fits
            )
            if progress is not None:
                progress(len(trials), f"{dim}={size}")
        return trials[size].fits

    largest = _search(fits, lambda n: trials[n].needed_bytes, fits_at, up_to)
    first_fit = fits_at[min(fits_at)]
    return FitSearch(
        model=request.target.name,
        dim=dim,
        inputs=tuple(format_input_spec(s) for s in specs),
        gpu=first_fit.gpu,
        memory_bytes=first_fit.memory_bytes,
        optimizer=options.optimizer,
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        largest=largest,
        at_largest=fits_at.get(largest) if largest else None,
        at_next=fits_at.get(largest + 1) if largest else None,
        trials=tuple(trials[n] for n in trials),
        capped=largest == up_to,
    )


def _toward(a: int, b: int, need_a: int, need_b: int, memory: int) -> int | None:
    """The size where the line through (a, need_a) and (b, need_b) reaches ``memory``."""
    if need_b == need_a or a == b:
        return None
    return b + (memory - need_b) * (b - a) // (need_b - need_a)


def _search(
    fits: Callable[[int], bool],
    needed: Callable[[int], int],
    fits_at: dict[int, GpuFit],
    up_to: int,
) -> int | None:
    """The largest n in 1..up_to with fits(n) (monotone: a larger size needs more), or None.

    Growing: jump to where the line through the last two fitting sizes reaches the memory (at
    least double); bracketed: the same line through both ends, every other step a bisection so
    that a curved cost still converges in O(log n) steps. A candidate that fits is followed by
    the size after it, which usually ends the search."""
    if not fits(1):
        return None
    memory = fits_at[1].memory_bytes
    lo, lo_prev, hi = 1, 0, 0  # hi == 0: no size known not to fit yet
    bisect = False
    while not hi or hi - lo > 1:
        if lo >= up_to:
            return up_to
        line = None
        if not hi:
            line = _toward(lo_prev, lo, needed(lo_prev), needed(lo), memory) if lo_prev else None
            cand = min(up_to, max(2 * lo, line or 0))
            line = line if line is not None and line >= 2 * lo else None
        elif bisect:
            cand = (lo + hi) // 2
        else:
            line = _toward(lo, hi, needed(lo), needed(hi), memory)
            cand = min(hi - 1, max(lo + 1, line if line is not None else (lo + hi) // 2))
        width = hi - lo
        if fits(cand):
            lo_prev, lo = lo, cand
            # An estimate from the line that fits: the size after it usually ends the search.
            if line is not None and cand < up_to:
                if not fits(cand + 1):
                    return cand
                lo_prev, lo = cand, cand + 1
        else:
            hi = cand
        # Bisect next when the line's step didn't halve an existing bracket.
        bisect = width > 0 and not bisect and (hi - lo) * 2 > width
    fits(lo + 1)  # the size after the answer, for the report (usually known already)
    return lo
