"""Turn what the user named (a torchvision model, ``timm:NAME``, ``hf:...``, ``file.py:Name``,
``package.module:Name`` or a YAML config) into a ``ModelTarget``."""

from __future__ import annotations

import os

from netinspect.errors import (
    ModelNotFound,
    UsageError,
)
from netinspect.limits import check_target_length
from netinspect.sources.files import file_target, module_target
from netinspect.sources.target import ModelTarget, is_config_path
from netinspect.sources.torchvision import torchvision_target


def resolve_target(target: str, *, allow_import: tuple[str, ...] = ()) -> ModelTarget:
    """Turn a CLI/API target string into a ModelTarget. Raises a UsageError subclass."""
    target = target.strip()
    check_target_length(target)
    if not target:
        raise ModelNotFound(target, detail="no model given")
    # Optional sources first: their libraries are imported only when their prefix is used.
    if target.startswith("timm:"):
        from netinspect.sources.timm import timm_target

        return timm_target(target.removeprefix("timm:"))
    if target.startswith("hf:"):
        from netinspect.sources.hf import hf_target

        return hf_target(target.removeprefix("hf:"))
    if is_config_path(target):
        from netinspect.sources.config import load_config_target

        return load_config_target(target, allow_import=allow_import)
    if ":" in target:
        location, _, attr = target.rpartition(":")
        if location.endswith(".py") or os.sep in location or "/" in location:
            return file_target(target, location, attr)
        return module_target(target, location, attr)
    from netinspect.sources.checkpoint.detect import (
        INDEX_SUFFIXES,
        WEIGHT_SUFFIXES,
        is_checkpoint_target,
    )

    if target.lower().endswith(WEIGHT_SUFFIXES + INDEX_SUFFIXES) and not os.path.exists(target):
        raise ModelNotFound(target, detail=f"no such checkpoint file: {target}")
    if is_checkpoint_target(target):
        raise UsageError(
            f"{target} is a checkpoint, not a model: `netinspect {target}` shows what it holds "
            "(inspect_checkpoint in Python); to load it into a model, name the model and add "
            f"--weights {target}"
        )
    if target.endswith(".py"):
        raise UsageError(f"name the model class or factory in {target}: use {target}:ClassName")
    return torchvision_target(target)
