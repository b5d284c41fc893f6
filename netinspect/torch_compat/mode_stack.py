"""Save and put back torch's default device and its ``__torch_function__`` mode stack.

``torch.set_default_device`` inside a model's forward does not nest: it takes the
``DeviceContext`` that ``with torch.device(...)`` pushed off the mode stack and puts its own at
the bottom, so the caller's ``with`` blocks later pop modes that are no longer there ("trying to
pop from empty mode stack"), and the process keeps the model's default device. Saving the
stack before the forward and rebuilding it after (the same mode objects, in order) undoes
whatever the forward did to it, whichever way.

Private parts used: ``torch._C._len_torch_function_stack``, ``torch.overrides._pop_mode`` /
``_push_mode``, ``torch._GLOBAL_DEVICE_CONTEXT`` and ``torch.utils._device.CURRENT_DEVICE``.
Checked on torch 2.4.1 and 2.14.1 (2.4 has no ``device_context`` attribute until a default
device is set, and raises in ``get_default_device`` if it is set to None). Where any is
missing (``is_available()`` is False), nothing is saved and nothing is put back: a forward
that changes the default device then behaves as plain torch would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def is_available() -> bool:
    """Whether this torch has the parts the save and restore use (a feature test)."""
    import torch.overrides
    import torch.utils._device

    return (
        hasattr(torch._C, "_len_torch_function_stack")
        and hasattr(torch.overrides, "_pop_mode")
        and hasattr(torch.overrides, "_push_mode")
        and hasattr(torch, "_GLOBAL_DEVICE_CONTEXT")
        and hasattr(torch.utils._device, "CURRENT_DEVICE")
    )


@dataclass(frozen=True, slots=True)
class ModeState:
    modes: tuple[Any, ...]  # bottom first
    device_context: Any
    # torch 2.4 reads "no attribute" as no default device and an attribute set to None as an
    # error (``get_default_device``): an absent attribute is put back absent.
    has_device_context: bool
    current_device: Any


def save_mode_state() -> ModeState | None:
    """The function mode stack and default device now; None where torch lacks the parts."""
    if not is_available():
        return None
    import torch.overrides
    import torch.utils._device

    modes = [torch.overrides._pop_mode() for _ in range(torch._C._len_torch_function_stack())]  # type: ignore[no-untyped-call]
    for mode in reversed(modes):
        torch.overrides._push_mode(mode)  # type: ignore[no-untyped-call]
    return ModeState(
        modes=tuple(reversed(modes)),
        device_context=getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None),
        has_device_context=hasattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context"),
        current_device=torch.utils._device.CURRENT_DEVICE,
    )


def restore_mode_state(state: ModeState | None) -> bool:
    """Put back ``state``; True when something had changed (the forward changed it)."""
    if state is None:
        return False
    import torch.overrides
    import torch.utils._device

    count = torch._C._len_torch_function_stack()
    now = [torch.overrides._pop_mode() for _ in range(count)]  # type: ignore[no-untyped-call]
    changed = (
        len(now) != len(state.modes)
        or any(a is not b for a, b in zip(reversed(now), state.modes, strict=True))
        or getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None) is not state.device_context
        or state.current_device != torch.utils._device.CURRENT_DEVICE
    )
    for mode in state.modes:
        torch.overrides._push_mode(mode)  # type: ignore[no-untyped-call]
    if state.has_device_context:
        torch._GLOBAL_DEVICE_CONTEXT.device_context = state.device_context
    elif hasattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context"):
        del torch._GLOBAL_DEVICE_CONTEXT.device_context
    torch.utils._device.CURRENT_DEVICE = state.current_device
    return changed
