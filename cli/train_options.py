"""The ``--train`` options shared by ``inspect`` and ``sizes``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from netinspect.pipeline.train import TrainOptions

TrainOption = Annotated[
    bool,
    typer.Option(
        "--train",
        help="Also run one training step (forward, loss, backward, optimizer step) on the "
        "meta device and report its peak memory by category and per module (JSON: 'training').",
    ),
]
OptimizerOption = Annotated[
    str,
    typer.Option(
        "--optimizer",
        metavar="NAME",
        help="With --train: sgd | sgd-momentum | adam | adamw (default adamw).",
    ),
]
GpuOption = Annotated[
    Optional[str],
    typer.Option(
        "--gpu",
        metavar="NAME",
        help="With --train: does the step fit this GPU? H100, H200, A100-40GB, A100-80GB, L4, "
        "A10G, RTX4090, RTX3090. The step then follows CUDA (foreach optimizer, 512-byte "
        "allocations).",
    ),
]
GpuMemoryOption = Annotated[
    Optional[str],
    typer.Option(
        "--gpu-memory",
        metavar="SIZE",
        help="With --train: a GPU of this much memory instead of --gpu: 80GiB, 24GB (GB = 10**9).",
    ),
]


CheckpointOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--checkpoint",
        metavar="PATTERN",
        help="With --train: recompute these modules' activations in backward (activation "
        "checkpointing), repeatable: --checkpoint 'layers.*' (dotted names, shell patterns).",
    ),
]


def train_options(
    train: bool,
    optimizer: str,
    gpu: str | None,
    gpu_memory: str | None,
    checkpoint: list[str] | None = None,
) -> TrainOptions | None:
    """The options for the pipeline, checked before anything is built (exit 2 on bad ones)."""
    from netinspect.errors import UsageError

    if not train:
        given = [
            n
            for n, v in (("--gpu", gpu), ("--gpu-memory", gpu_memory), ("--checkpoint", checkpoint))
            if v
        ]
        if given or optimizer != "adamw":
            raise UsageError(f"{(given or ['--optimizer'])[0]} needs --train")
        return None
    if gpu and gpu_memory:
        raise UsageError("--gpu and --gpu-memory: give one of them")
    from netinspect.gpus import find_gpu, parse_memory_size
    from netinspect.pipeline.train import TrainOptions, check_train_options

    options = TrainOptions(
        optimizer=optimizer,
        gpu=find_gpu(gpu).name if gpu else None,
        gpu_memory_bytes=parse_memory_size(gpu_memory) if gpu_memory else None,
        checkpoint=tuple(checkpoint or ()),
    )
    check_train_options(options)
    return options
