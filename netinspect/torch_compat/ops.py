"""aten ops and dispatch helpers that are private or absent on some torch releases.

Checked on torch 2.4.1, 2.9.1 and 2.14.1.

- ``optional_aten_op(name)``: the overload packet when this torch has the op, else ``None``
  (``_grouped_mm`` arrived in 2.9: before it no model can call it, so a missing formula for it
  misses nothing). Feature test: the op namespace itself, never the version string.
- ``no_torch_function``: ``torch._C.DisableTorchFunction`` (present on every release since
  1.x); the fallback is a no-op context, which only costs time.
- ``is_higher_order_op``: ``torch._ops.HigherOrderOperator`` instances; ``False`` where the
  class is missing (then no such operator can reach a dispatch mode either).
- ``tree_map``: ``torch.utils._pytree.tree_map`` (on every release in the range; the public
  ``torch.utils.pytree`` is newer than the floor).
- ``public_namespace(module)``: the public spelling of a function's ``__module__`` when torch
  defines it in its C extension (``torch._C._nn`` is ``F``, the rest of ``torch._C`` is
  ``torch``); any other module is returned as it is.
- ``python_dispatcher()``: ``torch._dispatch.python.enable_python_dispatcher`` (symbolic
  resizes need it); the fallback is a no-op context, and the call then fails as it would
  without it, which the symbolic pass reports as a limitation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._pytree import (
    tree_map as tree_map,  # every release since 1.x; no public twin on 2.4
)


def optional_aten_op(name: str) -> Any | None:
    """``torch.ops.aten.<name>`` when this torch registers it, else ``None``."""
    try:
        return getattr(torch.ops.aten, name)
    except (AttributeError, RuntimeError):
        return None


def _disable_torch_function() -> Callable[[], Any]:
    cls = getattr(getattr(torch, "_C", None), "DisableTorchFunction", None)
    return cls if cls is not None else contextlib.nullcontext


# Bookkeeping that reads .shape, .dtype, .numel() runs with torch-function handling off: plain
# attribute reads instead of a trip through every active TorchFunctionMode in Python.
no_torch_function: Callable[[], Any] = _disable_torch_function()

_HIGHER_ORDER: type | None = getattr(getattr(torch, "_ops", None), "HigherOrderOperator", None)


def is_higher_order_op(func: Any) -> bool:
    """A higher-order operator (``cond``, ``while_loop``...): not an aten op to count."""
    return _HIGHER_ORDER is not None and isinstance(func, _HIGHER_ORDER)


def python_dispatcher() -> Any:
    """torch's Python dispatcher, on for the block (the symbolic pass's resize kernels)."""
    try:
        from torch._dispatch.python import enable_python_dispatcher
    except ImportError:
        return contextlib.nullcontext()
    return enable_python_dispatcher()


def public_namespace(module: str) -> str:
    """``F`` for torch.nn.functional's C functions, ``torch`` for the rest of torch's C
    extension (where ``torch.cat`` and friends live), else ``module`` itself."""
    if module.startswith("torch.nn.functional") or module == "torch._C._nn":
        return "F"
    if module.startswith("torch._C") or module == "torch":
        return "torch"
    return module
