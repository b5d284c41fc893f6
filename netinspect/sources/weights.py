"""``--weights``: reading a local checkpoint for a model (a torch file read with
``torch.load(weights_only=True)``, a ``.safetensors``, a sharded index, a model directory),
and copying the tensors that fit. ``pipeline.weights`` matches them tensor by tensor."""

from __future__ import annotations

import os
import stat

import torch
from torch import nn

from netinspect.checkpoint_records import TensorEntry
from netinspect.errors import WeightsError
from netinspect.fileio import file_kind
from netinspect.sources.checkpoint.guard import (  # noqa: F401  (re-exported)
    MAX_EXPANSION,
    check_checkpoint_file,
    load_failure,
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + " ..."


def is_on_meta(model: nn.Module) -> bool:
    tensors = [*model.parameters(), *model.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


def _is_model_directory(path: str, mode: int) -> bool:
    """A directory holding a model's weights (a Hugging Face model directory)."""
    from netinspect.sources.checkpoint.detect import directory_weights

    return stat.S_ISDIR(mode) and directory_weights(path) is not None


def _declared(path: str) -> tuple[tuple[TensorEntry, ...], tuple[str, ...]]:
    """Names, shapes and dtypes only: a safetensors header, or a torch zip mapped onto meta."""
    from netinspect.sources.checkpoint.detect import checkpoint_kind
    from netinspect.sources.checkpoint.read import load_torch_meta, read_checkpoint, tensor_entry

    if checkpoint_kind(path) is not None:
        contents = read_checkpoint(path)
        return tuple(contents.tensors), contents.unwrapped
    state, unwrapped, _ = load_torch_meta(path)
    return tuple(tensor_entry(k, v) for k, v in state.items()), unwrapped


def read_weights(
    model: nn.Module, path: str
) -> tuple[tuple[TensorEntry, ...], dict[str, torch.Tensor], tuple[str, ...]]:
    """What ``path`` declares (names, shapes, dtypes), its tensors with their data (empty
    when ``model`` is on meta: nothing is read then but a header or a zip mapped onto meta),
    and the wrapper keys taken off."""
    from netinspect.sources.checkpoint.read import tensor_entry

    try:
        mode = os.stat(path).st_mode  # follows links; never opens (a FIFO would block)
    except (FileNotFoundError, NotADirectoryError):
        raise WeightsError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode) and not _is_model_directory(path, mode):
        raise WeightsError(f"--weights {path} is {file_kind(mode)}, not a file")
    try:
        if is_on_meta(model):
            declared, unwrapped = _declared(path)
            return declared, {}, unwrapped
        from netinspect.sources.checkpoint.tensors import load_tensors

        state, unwrapped = load_tensors(path)
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    return tuple(tensor_entry(k, v) for k, v in state.items()), state, unwrapped


def model_tensors(model: nn.Module) -> tuple[TensorEntry, ...]:
    from netinspect.sources.checkpoint.read import tensor_entry

    return tuple(tensor_entry(k, v) for k, v in model.state_dict().items())


def copy_into(model: nn.Module, tensors: dict[str, torch.Tensor], path: str) -> None:
    """``load_state_dict(strict=False)`` of the tensors that fit (keys already the model's)."""
    try:
        model.load_state_dict(tensors, strict=False)
    except RuntimeError as exc:
        raise WeightsError(f"loading {path} failed: {_clip(str(exc), 300)}") from exc
