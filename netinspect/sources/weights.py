"""``--weights``: a local checkpoint (a torch file read with ``torch.load(weights_only=True)``,
a ``.safetensors``, a sharded index, a model directory) loaded into a model, tensor by tensor."""

from __future__ import annotations

import os
import re
import stat
import zipfile

import torch
from torch import nn

from netinspect.checkpoint_records import (
    LOADED,
    MISSING,
    SHAPE_MISMATCH,
    TensorEntry,
    WeightRow,
    WeightsReport,
)
from netinspect.errors import WeightsError, WeightsMismatch
from netinspect.fileio import file_kind


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + " ..."


def load_failure(exc: Exception) -> str:
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


def _is_safetensors(path: str) -> bool:
    """A ``.safetensors`` file, or an index or directory whose shards are."""
    from netinspect.sources.checkpoint.detect import checkpoint_kind, directory_weights

    kind = checkpoint_kind(path)
    if kind == "directory":
        path = directory_weights(path) or path
    return path.lower().endswith((".safetensors", ".safetensors.index.json"))


def _declared(path: str) -> tuple[tuple[TensorEntry, ...], tuple[str, ...]]:
    """Names, shapes and dtypes only: a safetensors header, or a torch zip mapped onto meta."""
    from netinspect.sources.checkpoint.detect import checkpoint_kind
    from netinspect.sources.checkpoint.read import load_torch_meta, read_checkpoint, tensor_entry

    if checkpoint_kind(path) is not None:
        contents = read_checkpoint(path)
        return tuple(contents.tensors), contents.unwrapped
    state, unwrapped, _ = load_torch_meta(path)
    return tuple(tensor_entry(k, v) for k, v in state.items()), unwrapped


def _random_init(rows: tuple[WeightRow, ...]) -> tuple[str, ...]:
    """Modules with a tensor the checkpoint did not fill: they keep their initialisation."""
    kept = (
        r.key.rpartition(".")[0] or r.key for r in rows if r.status in (MISSING, SHAPE_MISMATCH)
    )
    return tuple(dict.fromkeys(kept))


def load_weights(model: nn.Module, path: str, *, partial: bool = False) -> WeightsReport:
    """Load ``path`` into ``model`` and report each tensor's fate. On the meta device only
    names, shapes and dtypes are read (a safetensors header, a torch zip mapped onto meta).
    A mismatch raises ``WeightsMismatch`` (carrying the report) unless ``partial``: then what
    fits is loaded and the rest keeps the model's initialisation."""
    from netinspect.analysis.tensor_sets import weight_rows
    from netinspect.sources.checkpoint.read import tensor_entry

    try:
        mode = os.stat(path).st_mode  # follows links; never opens (a FIFO would block)
    except (FileNotFoundError, NotADirectoryError):
        raise WeightsError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise WeightsError(f"--weights {path} is {file_kind(mode)}, not a file")
    on_meta = _is_on_meta(model)
    try:
        if on_meta:
            declared, unwrapped = _declared(path)
            state: dict[str, torch.Tensor] = {}
        else:
            from netinspect.sources.checkpoint.tensors import load_tensors

            state, unwrapped = load_tensors(path)
            declared = tuple(tensor_entry(k, v) for k, v in state.items())
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    model_entries = tuple(tensor_entry(k, v) for k, v in model.state_dict().items())
    rows, prefix = weight_rows(model_entries, declared)
    notes = []
    if prefix:
        notes.append(f"every key in {path} starts with {prefix!r}: stripped to meet the model's")
    mismatch = any(r.status != LOADED for r in rows)
    report = WeightsReport(
        path=path,
        rows=rows,
        stripped_prefix=prefix or None,
        unwrapped=unwrapped,
        is_partial=partial,
        values_loaded=not on_meta,
        random_init=_random_init(rows) if partial else (),
        notes=tuple(notes),
    )
    if mismatch and not partial:
        raise WeightsMismatch(path, report)
    if not on_meta:
        fitting = {
            r.key: state[r.checkpoint_key] for r in rows if r.status == LOADED and r.checkpoint_key
        }
        try:
            model.load_state_dict(fitting, strict=False)
        except RuntimeError as exc:
            raise WeightsError(f"loading {path} failed: {_clip(str(exc), 300)}") from exc
    return report
