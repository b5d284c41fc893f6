"""Fits / does not fit: a step's peak plus stated allowances against a GPU's memory."""

from __future__ import annotations

from netinspect.gpus import (
    CUDA_CONTEXT_BYTES,
    FRAGMENTATION_FRACTION,
    GIB,
    MIB,
    NCCL_BYTES_PER_RANK,
    find_gpu,
)
from netinspect.training_records import GpuFit, MemoryAllowance


def size_name(memory: int) -> str:
    """``80 GiB``, ``100 MiB``, ``24,000,000,000 B``: a ``--gpu-memory`` as it was likely given."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB)):
        if memory >= scale and memory % (scale // 4) == 0:
            return f"{memory / scale:g} {unit}"
    if memory % 10**9 == 0:
        return f"{memory // 10**9} GB"
    return f"{memory:,} B"


def allowances(peak_bytes: int, *, communicates: bool = False) -> tuple[MemoryAllowance, ...]:
    """What a GPU needs beyond the step's tensors, each with its basis."""
    out = [
        MemoryAllowance(
            "cuda_context",
            CUDA_CONTEXT_BYTES,
            "assumed; 300-700 MiB seen, by driver and libraries",
        ),
        MemoryAllowance(
            "fragmentation",
            int(peak_bytes * FRAGMENTATION_FRACTION),
            "5% of the peak",
        ),
    ]
    if communicates:
        out.append(
            MemoryAllowance(
                "nccl_buffers",
                NCCL_BYTES_PER_RANK,
                "4 MiB x 32 channels, send and receive",
            )
        )
    return tuple(out)


def gpu_fit(
    peak_bytes: int,
    gpu_name: str | None,
    memory_bytes: int | None,
    *,
    communicates: bool = False,
) -> GpuFit:
    """The verdict for ``--gpu NAME`` (the table's memory) or ``--gpu-memory`` (bytes)."""
    if gpu_name is not None:
        gpu = find_gpu(gpu_name)
        name, memory = gpu.name, gpu.memory_bytes
    else:
        assert memory_bytes is not None
        memory = memory_bytes
        name = size_name(memory)
    extra = allowances(peak_bytes, communicates=communicates)
    needed = peak_bytes + sum(a.bytes for a in extra)
    return GpuFit(
        gpu=name,
        memory_bytes=memory,
        peak_bytes=peak_bytes,
        allowances=extra,
        needed_bytes=needed,
        margin_bytes=memory - needed,
        fits=needed <= memory,
    )
