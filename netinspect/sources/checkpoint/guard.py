"""Checks before torch reads a checkpoint: a zip archive's expansion is bounded (a DEFLATE
bomb is refused), a file that is neither a zip archive nor a pickle is refused, and torch's
refusal of a pickle that is not weights-only is said in one sentence of our own."""

from __future__ import annotations

import os
import re
import zipfile

from netinspect.errors import WeightsError


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
