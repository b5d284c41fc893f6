"""``--weights``: a local state dict, read with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping

import torch
from torch import nn

from netinspect.errors import (
    WeightsError,
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + " ..."


def _load_failure(exc: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in one sentence of our own: torch's
    text carries terminal escapes and advises weights_only=False, which netinspect never does."""
    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"global ([\w.]+)", text)
        held = f" ({found.group(1)})" if found else ""
        return (
            f"it holds Python objects{held}, not only tensors; netinspect loads state dicts "
            "only (torch.load weights_only=True): save model.state_dict() instead"
        )
    return f"not a readable PyTorch checkpoint ({type(exc).__name__})"


def load_weights(model: nn.Module, path: str) -> None:
    if not os.path.isfile(path):
        raise WeightsError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter is not ours to show
            state = torch.load(path, map_location="cpu", weights_only=True)
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
