"""``--train``: the memory of one real training step, run on a meta-built model.

The step is what a training loop does: forward on the model's inputs, a loss, backward, the
optimizer's step, ``zero_grad(set_to_none=True)``. It runs twice and the second is reported,
so that the optimizer's state exists (Adam creates it in its first step). torch's
``MemTracker`` (``torch_compat.memory``) sees every storage the step creates; on the meta
device they cost nothing, so a step of any size runs on a laptop in seconds.

The target decides two things that change the peak: the optimizer's implementation (torch
picks ``foreach`` for CUDA tensors and the per-parameter for-loop on CPU; meta tensors would
get the for-loop, so the target's default is forced) and the allocator's rounding (CUDA's
caching allocator hands out multiples of 512 bytes; the CPU allocator the bytes asked for).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from netinspect.errors import TrainingStepFailed, UsageError, exception_text
from netinspect.pipeline.gpu_fit import gpu_fit
from netinspect.pipeline.inputs import _Prepared
from netinspect.pipeline.request import Request
from netinspect.records import InspectionReport
from netinspect.sources.build import copy_to
from netinspect.torch_compat.attention import TargetAttention
from netinspect.torch_compat.memory import (
    CATEGORIES,
    has_mem_tracker,
    make_step_tracker,
    missing_message,
)
from netinspect.training_records import TrainingRecord

META = torch.device("meta")
OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw")
MAX_SERIES_POINTS = 300


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """What ``--train`` was asked for. ``gpu``/``gpu_memory_bytes`` make the target CUDA."""

    optimizer: str = "adamw"
    gpu: str | None = None
    gpu_memory_bytes: int | None = None
    cuda: bool = False  # the target is CUDA without a memory to check against (--device cuda)
    # Shell patterns of module names whose forward is recomputed in backward (``layers.*``).
    checkpoint: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        is_cuda = self.cuda or self.gpu is not None or self.gpu_memory_bytes is not None
        return "cuda" if is_cuda else "cpu"


def check_train_options(options: TrainOptions) -> None:
    """Refuse what cannot run before anything is built (exit 2)."""
    if options.optimizer not in OPTIMIZERS:
        raise UsageError(f"--optimizer {options.optimizer}: choose from {', '.join(OPTIMIZERS)}")
    if not has_mem_tracker():
        raise UsageError(missing_message())


def make_optimizer(
    name: str, params: list[nn.Parameter], *, foreach: bool
) -> torch.optim.Optimizer:
    """The optimizer ``name`` with torch's defaults; ``foreach`` as on the target device."""
    match name:
        case "sgd":
            return torch.optim.SGD(params, lr=1e-3, foreach=foreach)
        case "sgd-momentum":
            return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach)
        case "adam":
            return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
        case "adamw":
            return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise UsageError(f"--optimizer {name}: choose from {', '.join(OPTIMIZERS)}")


def add_labels(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Give a model that computes its own loss (HF: ``forward(input_ids, ..., labels=)``) its
    token ids as labels, as a language-model training loop does. True when labels are given."""
    if "labels" in kwargs:
        return True
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return False
    if "labels" not in params:
        return False
    ids = kwargs.get("input_ids")
    if ids is None and args and params and params[0] == "input_ids":
        ids = args[0]
    if isinstance(ids, torch.Tensor) and not ids.is_floating_point():
        kwargs["labels"] = ids
        return True
    return False


def checkpoint_modules(model: nn.Module, patterns: tuple[str, ...], target: str) -> tuple[str, ...]:
    """Wrap the forward of each module whose dotted name matches a pattern (the outermost of
    nested matches) in ``torch.utils.checkpoint`` (non-reentrant): its activations are not
    kept for backward but recomputed there. ``model`` is the step's own meta build."""
    from torch.utils.checkpoint import checkpoint

    chosen: list[str] = []
    for name, _ in model.named_modules():
        if not name or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        if any(name.startswith(outer + ".") for outer in chosen):
            continue
        chosen.append(name)
    if patterns and not chosen:
        raise UsageError(
            f"--checkpoint {', '.join(patterns)}: no module's name matches "
            "(names are dotted, as in the table: layers.0, encoder.layer.*)"
        )
    for name in chosen:
        module = model.get_submodule(name)
        if isinstance(module.forward, functools.partial) and module.forward.func is checkpoint:
            continue  # wrapped by an earlier step on this build (sizes --train reuses it)
        # The recomputation in backward must take the same attention kernel as the forward
        # (checkpoint compares what it saved), and backward doesn't see the forward's mode.
        routed = functools.partial(_with_target_attention, module.forward, target)
        module.forward = functools.partial(checkpoint, routed, use_reentrant=False)
    return tuple(chosen)


def _with_target_attention(forward: Callable[..., Any], target: str, *args: Any, **kw: Any) -> Any:
    with TargetAttention(target):
        return forward(*args, **kw)


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor in what forward returned (tensors, sequences, dicts, HF ModelOutputs)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):  # ModelOutput is an OrderedDict
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def loss_of(output: Any, has_labels: bool) -> tuple[torch.Tensor, str, str]:
    """(loss, kind, words): the model's own loss when it returned one for the labels, else the
    mean of each output tensor that depends on the parameters (summed when there are several).
    A mean, not a sum: its gradient is a full tensor of the output's size, as a real loss's is.
    """
    own = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
    if has_labels and isinstance(own, torch.Tensor) and own.requires_grad:
        return own, "model", "the model's own loss (labels = input_ids)"
    outs = [t for t in _tensors(output) if t.is_floating_point() and t.requires_grad]
    if not outs:
        raise TrainingStepFailed(
            "--train: the model's output has no floating tensor that depends on its parameters"
        )
    loss = outs[0].mean()
    for t in outs[1:]:
        loss = loss + t.mean()
    words = "mean of the output" if len(outs) == 1 else f"sum of the means of {len(outs)} outputs"
    return loss, "mean", words + " (the model returns no loss)"


def _step(
    model: nn.Module, optimizer: torch.optim.Optimizer, prepared: _Prepared, has_labels: bool
) -> str:
    output = model(*prepared.args, **prepared.kwargs)
    loss, _, words = loss_of(output, has_labels)
    del output
    loss.backward()  # type: ignore[no-untyped-call]
    del loss
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return words


def _state_bytes(optimizer: torch.optim.Optimizer, rounding: int) -> int:
    """Bytes of the optimizer's state on the model's device (Adam's 0-d ``step`` counters live
    on the CPU and are left out), each storage rounded up to ``rounding`` bytes."""
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor) and value.device == META:
                nbytes = value.untyped_storage().nbytes()
                total += -(-nbytes // rounding) * rounding
    return total


def _split_optimizer(by_category: dict[str, int], state_bytes: int) -> dict[str, int]:
    """MemTracker files everything the optimizer step allocates as optimizer state; what is
    beyond the state proper (``state_bytes``, which exists all through the second step) is the
    step's intermediates: counted as temporaries."""
    out = dict(by_category)
    extra = max(0, out.get("optimizer_state", 0) - state_bytes)
    out["optimizer_state"] = out.get("optimizer_state", 0) - extra
    out["temporaries"] = out.get("temporaries", 0) + extra
    return out


def _downsample(
    series: list[tuple[str, tuple[int, ...]]],
) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """At most ``MAX_SERIES_POINTS`` points: the highest of each run of consecutive points, so
    the peak is always among them."""
    if len(series) > MAX_SERIES_POINTS:
        size = len(series) / MAX_SERIES_POINTS
        buckets = [series[int(i * size) : int((i + 1) * size)] for i in range(MAX_SERIES_POINTS)]
        series = [max(b, key=lambda p: sum(p[1])) for b in buckets if b]
    return tuple(p for p, _ in series), tuple(v for _, v in series)


def measure_training(
    model: nn.Module, prepared: _Prepared, request: Request, options: TrainOptions
) -> TrainingRecord:
    """Two training steps of ``model`` (built on meta for this, never the caller's own) on
    ``prepared`` meta inputs; the second step's memory."""
    model.train()
    checkpointed = checkpoint_modules(model, options.checkpoint, options.target)
    kwargs = dict(prepared.kwargs)
    has_labels = add_labels(model, prepared.args, kwargs)
    prepared = _Prepared(prepared.args, kwargs, prepared.records)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise UsageError("--train: the model has no trainable parameters")
    is_cuda = options.target == "cuda"
    optimizer = make_optimizer(options.optimizer, params, foreach=is_cuda)
    tracker = make_step_tracker(cuda_rounding=is_cuda, device_type=META.type)
    tracker.root_name = type(model).__name__
    inputs = [*_tensors(list(prepared.args)), *_tensors(kwargs)]
    tracker.track_external(model, optimizer, *inputs)
    try:
        with warnings.catch_warnings(), tracker, TargetAttention(options.target):
            # torch's ModTracker warns when a module's output feeds no backward hook (a model
            # that returns its input, HF's loss); the step's numbers don't depend on it.
            warnings.filterwarnings("ignore", message="The module hierarchy tracking")
            _step(model, optimizer, prepared, has_labels)
            tracker.restart()
            words = _step(model, optimizer, prepared, has_labels)
    except (TrainingStepFailed, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise TrainingStepFailed(
            f"--train: the training step failed on the meta device: {exception_text(exc)}"
        ) from exc
    result = tracker.result
    state_bytes = _state_bytes(optimizer, rounding=512 if is_cuda else 1)
    by_category = _split_optimizer(result.peak_by_category, state_bytes)
    points = [
        (p, tuple(_split_optimizer(dict(zip(CATEGORIES, v, strict=True)), state_bytes).values()))
        for p, v in result.series
    ]
    phases, series = _downsample(points)
    record = TrainingRecord(
        peak_bytes=result.peak_bytes,
        peak_phase=result.peak_phase,
        peak_module=result.peak_module,
        by_category=by_category,
        per_module=dict(sorted(tracker.module_peaks().items())),
        loss=words,
        loss_kind="model" if words.startswith("the model's own") else "mean",
        optimizer=options.optimizer,
        optimizer_implementation="foreach" if is_cuda else "for-loop",
        target=options.target,
        dtype=str(next(iter(params)).dtype).removeprefix("torch."),
        checkpoint=checkpointed,
        series_categories=CATEGORIES,
        series_phases=phases,
        series=series,
    )
    if options.gpu is not None or options.gpu_memory_bytes is not None:
        record = dataclasses.replace(
            record, gpu=gpu_fit(record.peak_bytes, options.gpu, options.gpu_memory_bytes)
        )
    return record


def add_training(
    report: InspectionReport,
    request: Request,
    options: TrainOptions | None,
    build: Callable[[Request, torch.device], nn.Module],
    prepare: Callable[[Request, torch.device], _Prepared],
) -> InspectionReport:
    """``report`` with ``training`` when asked for and the inspection pass went through.
    ``build`` and ``prepare`` are the pipeline's steps, called here for the meta device."""
    if options is None or report.error is not None:
        return report
    check_train_options(options)
    if request.device.type == "cuda" and options.target != "cuda":
        options = dataclasses.replace(options, cuda=True)
    model = build(request, META)
    if model is request.model:  # the caller's own module (given on meta): train a copy
        model = copy_to(model, META, None)
    prepared = prepare(request, META)
    return dataclasses.replace(report, training=measure_training(model, prepared, request, options))


def real_cpu_step_peak(model: nn.Module, prepared: _Prepared, optimizer: str) -> int:
    """The same step for real on the CPU (``model`` and ``prepared`` on cpu): what was live
    before the step (parameters, buffers, inputs, optimizer state after a first step) plus the
    allocator's highest running total during the second. What ``measure_training`` predicts."""
    from netinspect.torch_compat.allocator import live_bytes, step_allocation_peak

    model.train()
    kwargs = dict(prepared.kwargs)
    has_labels = add_labels(model, prepared.args, kwargs)
    prepared = _Prepared(prepared.args, kwargs, prepared.records)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, foreach=False)
    _step(model, opt, prepared, has_labels)
    state = [v for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    # Adam's per-parameter ``step`` counters are 0-d CPU tensors on every device (not GPU
    # memory); the prediction leaves them out, so does this.
    before = [
        *model.parameters(),
        *model.buffers(),
        *_tensors(list(prepared.args)),
        *_tensors(kwargs),
        *(t for t in state if t.dim() > 0),
    ]
    live = live_bytes(before)
    return live + step_allocation_peak(lambda: _step(model, opt, prepared, has_labels))
