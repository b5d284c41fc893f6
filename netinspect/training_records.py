"""Records of a measured training step (``--train``): the step's memory (``TrainingRecord``),
whether it fits a GPU (``GpuFit``, ``MemoryAllowance``) and the largest size that fits
(``FitSearch``, ``FitTrial``). Frozen dataclasses without formatting, like ``records``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MemoryAllowance:
    """Memory a step needs on a GPU that its tensors don't show, stated on its own line."""

    name: str  # "cuda_context" | "fragmentation" | "nccl_buffers"
    bytes: int
    basis: str  # how the amount was chosen, in words


@dataclass(frozen=True, slots=True)
class GpuFit:
    """Whether the step's peak plus the allowances fits a GPU's memory."""

    gpu: str  # the table's name ("H100 80GB") or the size asked for ("80 GiB")
    memory_bytes: int
    peak_bytes: int
    allowances: tuple[MemoryAllowance, ...]
    needed_bytes: int  # peak + allowances
    margin_bytes: int  # memory - needed; negative when it does not fit
    fits: bool


@dataclass(frozen=True, slots=True)
class TrainingRecord:
    """One measured training step (forward, loss, backward, optimizer step; the second step of
    two, so that the optimizer's state exists). Bytes are live tensor storage on the target
    device, rounded to 512 bytes per allocation when the target is CUDA."""

    peak_bytes: int
    peak_phase: str  # "forward" | "backward" | "optimizer"
    peak_module: str  # dotted name of the innermost module running at the peak; "" is the root
    # Bytes at the peak by category: parameters, buffers, gradients, optimizer_state,
    # activations, temporaries, inputs (they sum to peak_bytes).
    by_category: Mapping[str, int]
    # Each module's peak while it ran (forward or backward), by dotted name.
    per_module: Mapping[str, int]
    loss: str  # what backward() was called on, in words
    loss_kind: str  # "model" (the model's own loss) | "mean" (mean of the output)
    optimizer: str  # "sgd" | "sgd-momentum" | "adam" | "adamw"
    optimizer_implementation: str  # "foreach" | "for-loop"
    target: str  # "cpu" | "cuda": whose allocator and optimizer default the step follows
    dtype: str
    amp: str | None = None
    checkpoint: tuple[str, ...] = ()
    # Memory over the step: after each op, its phase and the bytes per category (in
    # ``series_categories`` order); at most a few hundred points, the peak among them.
    series_categories: tuple[str, ...] = ()
    series_phases: tuple[str, ...] = ()
    series: tuple[tuple[int, ...], ...] = ()
    gpu: GpuFit | None = None


@dataclass(frozen=True, slots=True)
class FitTrial:
    """One training step of the search: the size tried and its verdict."""

    size: int
    peak_bytes: int
    needed_bytes: int
    fits: bool


@dataclass(frozen=True, slots=True)
class FitSearch:
    """The largest size of one input dim whose training step fits a GPU (``sizes --train``)."""

    model: str
    dim: str  # the varied dim's name ("B" for the batch when none was named)
    inputs: tuple[str, ...]  # the specs, the varied dim by name
    gpu: str
    memory_bytes: int
    optimizer: str
    dtype: str
    largest: int | None  # None: not even size 1 fits
    at_largest: GpuFit | None
    at_next: GpuFit | None  # the size after the largest (it does not fit), when tried
    trials: tuple[FitTrial, ...]
    # True when the search stopped at the cap (``up_to``) with that size still fitting.
    capped: bool = False
