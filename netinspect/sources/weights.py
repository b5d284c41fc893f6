"""``--weights``: a local state dict, read with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import os
import re
import stat
import warnings
import zipfile
from collections.abc import Mapping

import torch
from torch import nn

from netinspect.errors import (
    WeightsError,
)
from netinspect.fileio import file_kind


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + " ..."


def _load_failure(exc: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in one sentence of our own: torch's
    text carries terminal escapes and advises weights_only=False, which netinspect never does."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"global ([\w.]+)", text)
    if "Weights only load failed" in text and found:
        return (
            f"it holds Python objects ({found.group(1)}), not only tensors; netinspect loads "
            "state dicts only (torch.load weights_only=True): save model.state_dict() instead"
        )
    return f"not a readable PyTorch checkpoint ({type(exc).__name__})"


# What one --weights file may expand to. torch.save stores its zip records uncompressed, so a
# real checkpoint's records add up to less than the file; a recompressed one (DEFLATE) can
# hold gigabytes in a megabyte.
MAX_EXPANSION = 2
_SLACK_BYTES = 1 << 20


def check_checkpoint_file(path: str) -> bool:
    """Refuse what is not a PyTorch checkpoint before torch reads it: a zip archive whose
    records would expand past ``MAX_EXPANSION`` times the file's size, or a file that is
    neither a zip archive nor a pickle (torch's legacy format). True for a zip archive."""
    size = os.path.getsize(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                expanded = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise WeightsError(
                f"cannot read weights file {path}: a damaged zip archive ({exc})"
            ) from None
        if expanded > MAX_EXPANSION * size + _SLACK_BYTES:
            raise WeightsError(
                f"refusing weights file {path}: its records expand to {expanded:,} bytes, "
                f"more than {MAX_EXPANSION}x its {size:,} bytes on disk (a checkpoint saved by "
                "torch.save is not compressed)"
            )
        return True
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":  # a zip's first record, but no directory at its end
        raise WeightsError(
            f"cannot read weights file {path}: a truncated zip archive (it starts like one "
            "saved by torch.save but its end is missing: was the save or the copy interrupted?)"
        )
    # Pickle protocol 2+ starts with PROTO (0x80); torch's legacy format is such a pickle.
    if not (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5):
        raise WeightsError(
            f"cannot read weights file {path}: not a PyTorch checkpoint (neither a zip archive "
            "saved by torch.save nor a pickle)"
        )
    return False


def _is_on_meta(model: nn.Module) -> bool:
    tensors = [*model.parameters(), *model.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


def load_weights(model: nn.Module, path: str) -> None:
    """Load ``path`` into ``model``. On the meta device only names, shapes and dtypes are
    read (torch.load with map_location="meta" skips a zip checkpoint's tensor records)."""
    try:
        mode = os.stat(path).st_mode  # follows links; never opens (a FIFO would block)
    except (FileNotFoundError, NotADirectoryError):
        raise WeightsError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise WeightsError(f"--weights {path} is {file_kind(mode)}, not a file")
    try:
        is_zip = check_checkpoint_file(path) if not path.endswith(".safetensors") else False
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    on_meta = _is_on_meta(model) and (is_zip or path.endswith(".safetensors"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter is not ours to show
            state = torch.load(path, map_location="meta" if on_meta else "cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path}: {_load_failure(exc)}") from exc
    if isinstance(state, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = state.get(key)
            if isinstance(inner, Mapping) and not isinstance(state.get(key), torch.Tensor):
                state = inner
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise WeightsError(f"{path} is not a state dict (a mapping of names to tensors)")
    try:
        with warnings.catch_warnings():
            # On meta, loading is a check of names and shapes; torch warns that the copy is a no-op.
            warnings.filterwarnings("ignore", message=".*copying from a non-meta parameter.*")
            model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        details = [_clip(ln.strip(), 160) for ln in str(exc).splitlines()[1:] if ln.strip()]
        summary = "; ".join(details[:3]) + (
            f"; and {len(details) - 3} more" if len(details) > 3 else ""
        )
        raise WeightsError(f"weights in {path} do not match the model: {summary}") from exc
