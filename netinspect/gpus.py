"""Accelerators a training step can be checked against (``--gpu NAME``, ``--gpu-memory SIZE``),
and the allowances for what a step's tensors do not show.

Memory is the capacity the vendor sells, in bytes. The "GB" of these cards' names is binary:
HBM and GDDR come in power-of-two chips, so an "80GB" H100 holds 80 GiB = 85,899,345,920 bytes.
The H200's 141 GB is what NVIDIA enables of its 144 GiB of HBM3e; we take it as 141 GiB. The
driver keeps a little of each card for itself (``torch.cuda.mem_get_info`` shows the rest), and
the CUDA context takes more: that is the first allowance below, stated, never folded into the
peak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netinspect.errors import UsageError

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    memory_bytes: int
    label: str  # how the vendor sells it


GPUS: tuple[Gpu, ...] = (
    Gpu("H100 80GB", 80 * GIB, "80 GiB (sold as 80GB HBM3)"),
    Gpu("H200 141GB", 141 * GIB, "141 GiB (sold as 141GB HBM3e)"),
    Gpu("A100 80GB", 80 * GIB, "80 GiB (sold as 80GB HBM2e)"),
    Gpu("A100 40GB", 40 * GIB, "40 GiB (sold as 40GB HBM2)"),
    Gpu("L4 24GB", 24 * GIB, "24 GiB (sold as 24GB GDDR6)"),
    Gpu("A10G 24GB", 24 * GIB, "24 GiB (sold as 24GB GDDR6)"),
    Gpu("RTX 4090 24GB", 24 * GIB, "24 GiB (sold as 24GB GDDR6X)"),
    Gpu("RTX 3090 24GB", 24 * GIB, "24 GiB (sold as 24GB GDDR6X)"),
)

# Allowances for what a step's tensors don't show. Each is stated in the report on its own line.
# The CUDA context (driver, kernels, cuBLAS/cuDNN workspaces) takes about 300-700 MiB depending
# on driver, CUDA version and libraries loaded; we allow 600 MiB.
CUDA_CONTEXT_BYTES = 600 * MIB
# The caching allocator holds blocks it cannot reuse for a request of another size; 5% of the
# peak is a common allowance for a steady training loop (expandable segments reduce it).
FRAGMENTATION_FRACTION = 0.05
# NCCL's buffers (NCCL_BUFFSIZE 4 MiB per channel and peer, send and receive) only exist when
# the step communicates: a single-device step has none. Per communicating rank we allow
# 2 directions × 4 MiB × 32 channels.
NCCL_BYTES_PER_RANK = 2 * 4 * MIB * 32


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_gpu(name: str) -> Gpu:
    """``h100``, ``H100 80GB``, ``rtx4090``, ``a100-40gb`` → the table's entry. An ambiguous or
    unknown name raises ``UsageError`` listing the table."""
    key = _key(name)
    exact = [g for g in GPUS if _key(g.name) == key]
    if exact:
        return exact[0]
    matches = [g for g in GPUS if _key(g.name).startswith(key)] if key else []
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(g.name for g in GPUS)
    if len(matches) > 1:
        which = ", ".join(g.name for g in matches)
        raise UsageError(f"--gpu {name}: which one? {which} (or --gpu-memory SIZE)")
    raise UsageError(f"--gpu {name}: unknown accelerator; choose from {known} (or --gpu-memory)")


_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}  # fmt: skip


def parse_memory_size(text: str) -> int:
    """``80GiB`` → 85899345920, ``24GB`` → 24000000000 (GB is decimal, GiB binary), ``1e9``."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise UsageError(
            f"--gpu-memory {text}: expected a size such as 80GiB, 24GB or 40000000000 "
            "(GiB = 2**30 bytes, GB = 10**9)"
        )
    value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise UsageError(f"--gpu-memory {text}: must be more than 0 bytes")
    return value
