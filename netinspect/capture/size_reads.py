"""Sizes read from tensors in Python (``len(rois)``, ``t.shape[0]``) and the rows whose
shapes they make data-dependent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netinspect.capture.bridge import MetaBridge
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


class _ValueSize(int):
    """A size read from a data-dependent dim (``len(boxes)``): new tensors made with it are
    data-dependent too. Arithmetic gives plain ints again, so marks follow direct uses only."""


def _holds_value_size(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _ValueSize):
        return True
    if isinstance(value, (list, tuple)) and depth < 3:
        return any(_holds_value_size(v, depth + 1) for v in value)
    return False


# Factories whose first size argument is a row count: ``torch.zeros((len(rois), 3, 17))``.
_FACTORIES = frozenset(
    {"zeros", "ones", "empty", "full", "rand", "randn", "arange", "eye", "new_zeros",
     "new_ones", "new_empty", "new_full"}
)  # fmt: skip


def _first_size(args: tuple[Any, ...], is_method: bool) -> Any:
    rest = args[1:] if is_method else args
    first = rest[0] if rest else None
    if isinstance(first, (list, tuple, torch.Size)):
        first = first[0] if len(first) else None
    return first


class _SizeReads(TorchFunctionMode):
    """Installed with the bridge: a data-dependent tensor's row count read in Python
    (``t.shape``, ``t.size(0)``) comes back as a ``_ValueSize``, and a torch call given one
    makes data-dependent tensors. ``len(t)`` comes back as a plain int whatever ``__len__``
    returns, so the counts read with ``len`` are remembered, and a factory whose first size is
    one of them (``torch.zeros((len(rois), 3, 17))``) is marked too."""

    def __init__(self, bridge: MetaBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.lengths: set[int] = set()

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        bridge = self.bridge
        if not bridge.has_data_dependent_shapes:
            return out
        name = getattr(func, "__name__", "")
        if name in ("__len__", "size", "__get__") and args and isinstance(args[0], torch.Tensor):
            if bridge.is_data_dependent(args[0]):
                if name == "__len__":
                    self.lengths.add(int(out))
                return _mark_rows(out, name, args, kwargs)
            return out
        if _holds_value_size(args) or _holds_value_size(tuple(kwargs.values())):
            bridge.mark(out)
        elif name in _FACTORIES and self.lengths:
            is_method = bool(args) and isinstance(args[0], torch.Tensor)
            if _first_size(args, is_method) in self.lengths:
                bridge.mark(out)
        return out


def _mark_rows(out: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The row count (dim 0) of a size read, as a ``_ValueSize``; other dims stay plain."""
    if isinstance(out, torch.Size) and len(out):
        return torch.Size([_ValueSize(out[0]), *out[1:]])
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    is_rows = name == "__len__" or (name == "size" and dim in (0, -len(args[0].shape)))
    if isinstance(out, int) and not isinstance(out, bool) and is_rows:
        return _ValueSize(out)
    return out
