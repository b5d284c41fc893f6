"""Which device a pass runs on, whether it fits there, and what to do where meta cannot run.

One device-fallback policy: which ways of running a pass to try, in what order, and the one
note that says which produced the report and why.

Under ``--device auto`` a pass starts on meta (no weight memory). When an op needs values that
meta tensors lack (``MetaBridge`` stops the pass), the next plan that can help and fits is
tried, cheapest first:

    meta          weights and inputs on meta: shapes only, no memory.
    real inputs   weights on meta, the dummy inputs real on cpu: what the model computes from
                  its inputs alone (an attention mask's ``.all()``, positions) has real values;
                  anything touching a weight stays on meta. A 7B model costs what meta costs.
    cpu           a real build on cpu (random init replaced by zeros): values are what the
                  model computes with zero weights. Only when the model, its input and its
                  largest activations fit in memory.
    zeros         weights on meta, and zeros stand in for any value meta cannot give (MoE
                  routing, NMS on a model too large for cpu). Shapes that follow from those
                  values are marked data-dependent: they are examples, not facts.

Limits that the bridge gets past in place (a dtype-limited or missing meta kernel) need no
retry. An error that is the model's own is never retried and gets no note about meta.
``--device meta`` tries the meta plans only (never a real build); cpu and cuda run as asked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from netinspect.capture.bridge import MetaLimit
from netinspect.capture.values import SHAPE_FROM_VALUES
from netinspect.errors import (
    DeviceError,
    InputTooLarge,
)
from netinspect.specs import TensorSpec, int_shape


def resolve_device(device: str | torch.device) -> torch.device:
    text = str(device).strip().lower()
    try:
        dev = torch.device(text)
    except RuntimeError as exc:
        raise DeviceError(
            f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or meta)"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {text}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {text}: only {torch.cuda.device_count()} CUDA device(s) are present"
            )
    elif dev.type not in ("cpu", "meta"):
        raise DeviceError(f"unsupported device {text!r} (use auto, cpu, cuda, cuda:N or meta)")
    return dev


def _torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)
    return dtype


def _module_device(model: nn.Module) -> torch.device:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _module_float_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def spec_bytes(spec: TensorSpec, float_dtype: torch.dtype) -> int:
    dtype = _torch_dtype(spec.dtype) if spec.dtype else float_dtype
    numel = 1
    for d in int_shape(spec):
        numel *= d
    return numel * dtype.itemsize


def _available_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def shortfall(device: torch.device, needed: int, what: str) -> str | None:
    """None when ``needed`` bytes fit on ``device``; else why not, with the numbers."""
    available = _available_memory(device)
    if available is not None and needed > 0.8 * available:
        return (
            f"this needs about {format_bytes(needed)} on {device} ({what}), more than 80% of "
            f"the {format_bytes(available)} available"
        )
    return None


def check_fits(device: torch.device, needed: int, what: str) -> None:
    """Refuse up front, with the estimate, rather than exhausting the machine's memory."""
    problem = shortfall(device, needed, what)
    if problem is not None:
        # --device meta never builds for real: shapes, whatever the size.
        raise InputTooLarge(f"{problem}; use --device meta for shapes only")


def limit_from_text(exc: BaseException) -> MetaLimit | None:
    """A meta limit met outside any aten op, so the bridge never saw it: ``.numpy()``."""
    if isinstance(exc, TypeError) and "meta device type tensor to numpy" in str(exc):
        return MetaLimit("numpy", "values", None)
    return None


# --- the fallback plans ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plan:
    """One way of running the pass."""

    name: str  # "meta" | "real inputs" | "cpu" | "zeros" | a device ("cuda:0")
    weights: torch.device  # where the model is built
    inputs: torch.device  # where the dummy inputs are made
    real_values: bool = False
    stand_ins: bool = False


META = torch.device("meta")
CPU = torch.device("cpu")
PLAN_META = Plan("meta", META, META)
PLAN_REAL_INPUTS = Plan("real inputs", META, CPU, real_values=True)
PLAN_CPU = Plan("cpu", CPU, CPU)
PLAN_ZEROS = Plan("zeros", META, CPU, real_values=True, stand_ins=True)


def plans_for(device: torch.device, *, is_auto: bool, can_rebuild: bool) -> tuple[Plan, ...]:
    """The plans to try, in order. ``can_rebuild``: the target can be built again on cpu
    (a name, not the caller's own module)."""
    if device.type != "meta":
        return (Plan(str(device), device, device),)
    if is_auto and can_rebuild:
        return (PLAN_META, PLAN_REAL_INPUTS, PLAN_CPU, PLAN_ZEROS)
    return (PLAN_META, PLAN_REAL_INPUTS, PLAN_ZEROS)


def _why(limit: MetaLimit) -> str:
    if limit.kind == "values":
        if limit.op in SHAPE_FROM_VALUES or limit.op == "index":
            return "its output shape depends on the values"
        return "it needs the values"
    if limit.kind == "write":
        return "it writes values computed from meta weights into a real tensor"
    if limit.kind == "dtype":
        return "its meta kernel takes only some dtypes"
    return "it has no meta kernel"


def _at(limit: MetaLimit) -> str:
    return f" at {limit.source}" if limit.source else ""


def describe_limit(limit: MetaLimit) -> str:
    """``meta cannot run `torch.nonzero` (at x.py:3): its output shape depends on the values``"""
    return f"meta cannot run {limit.what}{_at(limit)}: {_why(limit)}"


_HOW = {
    "real inputs": "ran with real inputs on cpu and the weights on meta",
    "cpu": "ran on cpu (random init replaced by zeros)",
    "zeros": "ran on meta with zeros standing in for the unknown values",
}
_EXAMPLES = ", so shapes marked ~ (data-dependent) are examples"

_IN_PLACE = {
    "dtype": "ran in bfloat16 on meta and was cast back (its meta kernel takes only some dtypes)",
    "kernel": "has no meta kernel: it ran on cpu on zeros of the same shapes",
}


def device_note(
    stopped: Sequence[MetaLimit],
    final: Plan,
    limits: Sequence[MetaLimit],
    skipped: Sequence[str] = (),
    *,
    has_data_dependent_shapes: bool = False,
) -> str | None:
    """The one note about the device: why the pass left meta (the limits that stopped each
    plan before the last), where it ran, why cheaper plans were passed over, and the limits
    handled in place."""
    parts: list[str] = []
    if stopped and final.name in _HOW:
        reasons = "; ".join(dict.fromkeys(describe_limit(limit) for limit in stopped))
        text = f"{reasons}; {_HOW[final.name]}"
        if skipped:
            text += " (" + "; ".join(skipped) + ")"
        if final.stand_ins and has_data_dependent_shapes:
            text += _EXAMPLES
        parts.append(text)
    seen: set[tuple[str, str]] = set()
    for limit in limits:
        if limit.handled in ("bfloat16", "cpu") and (limit.op, limit.kind) not in seen:
            seen.add((limit.op, limit.kind))
            parts.append(f"{limit.what}{_at(limit)} {_IN_PLACE[limit.kind]}")
    return "; ".join(parts) if parts else None


def failure_text(limit: MetaLimit, reasons: Sequence[str], hint: str | None) -> str:
    """The error message when no plan could get past ``limit``: plain words, and advice only
    when the advised command works (``hint``)."""
    text = describe_limit(limit)
    if reasons:
        text += "; " + "; ".join(reasons)
    return text + (f"; {hint}" if hint else "")
