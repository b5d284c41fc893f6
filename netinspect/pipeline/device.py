"""Which device a pass runs on, whether it fits there, and what meta cannot run."""

from __future__ import annotations

import os

import torch
from torch import nn

from netinspect.errors import (
    DeviceError,
    InputTooLarge,
    exception_text,
)
from netinspect.specs import TensorSpec


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


def _tensor_bytes(spec: TensorSpec, float_dtype: torch.dtype) -> int:
    dtype = _torch_dtype(spec.dtype) if spec.dtype else float_dtype
    numel = 1
    for d in spec.shape:
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


def check_fits(device: torch.device, needed: int, what: str) -> None:
    """Refuse up front, with the estimate, rather than exhausting the machine's memory."""
    available = _available_memory(device)
    if available is not None and needed > 0.8 * available:
        raise InputTooLarge(
            f"this needs about {format_bytes(needed)} on {device} ({what}), more than 80% of "
            f"the {format_bytes(available)} available; use --device meta for shapes only"
        )


def _is_meta_limitation(exc: BaseException) -> bool:
    """Ops the meta device cannot run (data-dependent sizes, .item(), quantized kernels)."""
    if isinstance(exc, NotImplementedError):
        return True
    text = exception_text(exc).lower()
    return any(
        key in text
        for key in ("meta", "data-dependent", "data dependent", "cannot be converted to scalar")
    )


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of an exception's text, cut at a word boundary: a note, not a dump."""
    line = (text.strip().splitlines() or [""])[0]
    sentence = line.split(". ")[0].rstrip(".")
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0] + "..."
    return sentence
