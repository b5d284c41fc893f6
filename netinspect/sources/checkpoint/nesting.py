"""Find the state dict inside what ``torch.load`` returned: a plain ``{name: tensor}``, or one
wrapped in ``state_dict`` (Lightning's ``.ckpt``), ``model_state_dict``, ``model``, ``ema``,
``module`` ... The walk is bounded, so an enormous or deeply nested object is refused quickly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from netinspect.errors import WeightsError

WRAPPER_KEYS = (
    "state_dict",
    "model_state_dict",
    "model",
    "module",
    "ema",
    "state_dict_ema",
    "model_ema",
    "net",
    "network",
)
MAX_WRAPPING = 6
MAX_ENTRIES = 2_000_000
MAX_METADATA = 50


def _describe(value: Any) -> str:
    if isinstance(value, (int, float, bool, str)) or value is None:
        return repr(value)[:80]
    if isinstance(value, Mapping):
        return f"a mapping of {len(value)} entries"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def unwrap_state(
    state: Any, path: str
) -> tuple[dict[str, torch.Tensor], tuple[str, ...], dict[str, str]]:
    """The state dict, the wrapper keys taken off, and the other top-level entries (epoch,
    global_step ...) described in a few words. Raises WeightsError."""
    unwrapped: list[str] = []
    metadata: dict[str, str] = {}
    for _ in range(MAX_WRAPPING + 1):
        if not isinstance(state, Mapping):
            raise WeightsError(
                f"{path} is not a state dict (it holds {_describe(state)}, not a mapping of "
                "names to tensors)"
            )
        if len(state) > MAX_ENTRIES:
            raise WeightsError(f"refusing {path}: a mapping of {len(state):,} entries")
        tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
        inner = next(
            (k for k in WRAPPER_KEYS if isinstance(state.get(k), Mapping) and state.get(k)),
            None,
        )
        if tensors and (inner is None or len(tensors) >= len(state) / 2):
            if not all(isinstance(k, str) for k in tensors):
                raise WeightsError(f"{path} is not a state dict: its keys are not all strings")
            for k, v in state.items():
                if not isinstance(v, torch.Tensor) and len(metadata) < MAX_METADATA:
                    metadata[str(k)] = _describe(v)
            return tensors, tuple(unwrapped), metadata
        if inner is None:
            raise WeightsError(
                f"{path} is not a state dict: no tensors at its top level and none of "
                f"{', '.join(WRAPPER_KEYS)} (it holds {', '.join(map(str, list(state)[:8]))})"
            )
        for k, v in state.items():
            if k != inner and len(metadata) < MAX_METADATA:
                metadata[".".join([*unwrapped, str(k)])] = _describe(v)
        unwrapped.append(inner)
        state = state[inner]
    raise WeightsError(f"refusing {path}: state dict wrapped more than {MAX_WRAPPING} levels deep")
