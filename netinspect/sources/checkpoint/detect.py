"""Is a target a checkpoint? Decided from the name and, for a directory, what it holds;
imports nothing heavy, so the CLI can route a checkpoint before torch is imported."""

from __future__ import annotations

import os

WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json", ".pt.index.json")
# A model directory's weights, in the order they are preferred (safetensors reads lazily).
DIRECTORY_WEIGHTS = (
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
    "pytorch_model.bin",
)


def directory_weights(path: str) -> str | None:
    """The weights file a model directory holds, if any."""
    for name in DIRECTORY_WEIGHTS:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def checkpoint_kind(target: str) -> str | None:
    """ "file", "index" or "directory" when ``target`` names a checkpoint on disk, else None."""
    lowered = target.lower()
    if lowered.endswith(INDEX_SUFFIXES) and os.path.exists(target):
        return "index"
    if lowered.endswith(WEIGHT_SUFFIXES) and os.path.exists(target):
        return "file"
    if os.path.isdir(target) and directory_weights(target) is not None:
        return "directory"
    return None


def is_checkpoint_target(target: str) -> bool:
    return checkpoint_kind(target.strip()) is not None
