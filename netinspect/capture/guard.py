"""Put back what a model's own forward changes in its module tree.

A forward may call ``self.train()``, bump a buffer (``self.count += 1``), edit a weight in place
(``self.fc.weight.mul_(2)``) or rebind a buffer (``self.last = x``). When netinspect built the
model, none of that matters: the model is thrown away after the pass. When the caller passed
their own module (the Python API), it must come back as it went in, so ``ModelStateGuard``:

- restores every module's ``_parameters`` and ``_buffers`` entries (a rebound, added or
  removed parameter or buffer is put back as it was) and each parameter's ``requires_grad``;
- on a real device, copies a parameter or buffer the first time an op writes to its storage
  (a ``TorchDispatchMode`` sees every aten op that mutates an argument), and copies the saved
  values back at the end: the cost is one copy of what the forward wrote to, nothing else;
- on the meta device skips the copies: meta tensors hold no values to change.

Training flags are restored by ``CallCapture``. Plain Python attributes the forward sets
(``self.cache = ...``) and global state (random generators) are not restored.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import torch
from torch import nn

from netinspect.torch_compat.dynamo_free import DispatchMode


class _CopyBeforeWrite(DispatchMode):
    """Calls ``before_write(tensor)`` for each tensor an op is about to write to."""

    def __init__(self, before_write: Callable[[torch.Tensor], None]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # torch's modes are untyped
        self.before_write = before_write

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        for position, argument in enumerate(func._schema.arguments):
            alias = argument.alias_info
            if alias is None or not alias.is_write:
                continue
            value = args[position] if position < len(args) else kwargs.get(argument.name)
            for tensor in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(tensor, torch.Tensor):
                    self.before_write(tensor)
        return func(*args, **kwargs)


def _same_entries(now: dict[str, Any], before: dict[str, Any]) -> bool:
    """The same names bound to the same objects (identity: tensors' == is elementwise)."""
    return now.keys() == before.keys() and all(now[k] is before[k] for k in now)


class ModelStateGuard:
    """Context manager: the module tree's parameters and buffers are as they were on exit."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._bindings: list[tuple[nn.Module, dict[str, Any], dict[str, Any]]] = []
        self._requires_grad: list[tuple[nn.Parameter, bool]] = []
        # Storage address -> the model's tensors that live in it (tied weights share one).
        self._by_storage: dict[int, list[torch.Tensor]] = {}
        # id -> (tensor, its values before the first write)
        self._saved: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._mode: _CopyBeforeWrite | None = None

    def __enter__(self) -> ModelStateGuard:
        for module in self.model.modules():
            self._bindings.append((module, dict(module._parameters), dict(module._buffers)))
        self._requires_grad = [(p, p.requires_grad) for p in self.model.parameters()]
        for tensor in (*self.model.parameters(), *self.model.buffers()):
            if tensor.device.type != "meta" and tensor.numel():
                address = tensor.untyped_storage().data_ptr()
                self._by_storage.setdefault(address, []).append(tensor)
        if self._by_storage:
            self._mode = _CopyBeforeWrite(self._save_before_write)
            self._mode.__enter__()  # type: ignore[no-untyped-call]  # torch's modes are untyped
        return self

    def _save_before_write(self, tensor: torch.Tensor) -> None:
        if tensor.device.type == "meta":
            return
        for owned in self._by_storage.get(tensor.untyped_storage().data_ptr(), ()):
            if id(owned) not in self._saved:
                self._saved[id(owned)] = (owned, owned.detach().clone())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._mode is not None:
            mode, self._mode = self._mode, None
            mode.__exit__(None, None, None)  # type: ignore[no-untyped-call]  # torch's modes are untyped
        for module, parameters, buffers in self._bindings:
            for now, before in ((module._parameters, parameters), (module._buffers, buffers)):
                if not _same_entries(now, before):
                    now.clear()
                    now.update(before)
        with torch.no_grad():
            for tensor, saved in self._saved.values():
                tensor.copy_(saved)
        for parameter, flag in self._requires_grad:
            parameter.requires_grad_(flag)
