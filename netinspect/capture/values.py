"""Shapes that depend on values: which tensors have one, and how the mark spreads.

``nonzero``, a boolean mask, ``unique``, NMS... make tensors whose row count comes from the
values (detection boxes are ``[0, 4]`` with zero weights and ``[100, 4]`` with random ones).
Everything computed from such a tensor is marked too, except by in-place ops (their output is
their input, whose shape is fixed) and 0-dim results (a count or a sum). Python code also reads
row counts and sizes new tensors with them (``torch.zeros((len(rois), 3, 17))``): ``SizeReads``
follows those reads into the torch calls that use them. Sizes that pass through arithmetic or
``.item()`` are not followed.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

# Ops whose output *shape* depends on values.
SHAPE_FROM_VALUES = frozenset(
    {
        "nonzero", "masked_select", "_unique", "_unique2", "unique_dim", "unique_consecutive",
        "unique_dim_consecutive", "bincount", "repeat_interleave", "torchvision::nms",
        "argwhere",
    }
)  # fmt: skip


@functools.cache
def op_name(func: Any) -> str:
    """``nonzero`` for aten ops, ``torchvision::nms`` for others' (their namespace kept).
    Cached: asked twice for every op of a pass, and an op's name never changes."""
    name = str(getattr(func, "__name__", func)).split(".")[0]
    namespace = getattr(func, "namespace", "aten")
    return name if namespace == "aten" else f"{namespace}::{name}"


def is_mask_index(func: Any, args: Any) -> bool:
    return (
        op_name(func) == "index"
        and len(args) > 1
        and isinstance(args[1], (list, tuple))
        and any(
            isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in args[1]
        )
    )


class ShapeMarks:
    """The tensors whose shape depends on values (held weakly: nothing is kept alive)."""

    def __init__(self) -> None:
        self._marked: dict[int, weakref.ref[torch.Tensor]] = {}

    def __bool__(self) -> bool:
        return bool(self._marked)

    def is_marked(self, t: torch.Tensor) -> bool:
        """True when ``t``'s shape came from values (directly or through ops on such tensors)."""
        for candidate in (t, t._base):
            if candidate is None:
                continue
            ref = self._marked.get(id(candidate))
            if ref is not None and ref() is candidate:
                return True
        return False

    def mark(self, out: Any) -> None:
        """Mark the tensors in ``out`` (a tensor or a sequence of them)."""
        outs = out if isinstance(out, (list, tuple)) else (out,)
        for t in outs:
            # A 0-dim result (a count, a sum) has a fixed shape whatever the values.
            if isinstance(t, torch.Tensor) and t.dim() > 0:
                self._marked[id(t)] = weakref.ref(t)

    def mark_op(self, func: Any, args: Any, inputs: list[torch.Tensor], out: Any) -> None:
        """After an aten op: mark ``out`` when a data-dependent op made it, or an op (not an
        in-place one) computed it from a marked tensor."""
        name = op_name(func)
        made_by_values = name in SHAPE_FROM_VALUES or is_mask_index(func, args)
        computed_from_marked = (
            bool(self._marked) and not name.endswith("_") and any(self.is_marked(t) for t in inputs)
        )
        if made_by_values or computed_from_marked:
            self.mark(out)


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


class SizeReads(TorchFunctionMode):
    """Installed with the bridge: a data-dependent tensor's row count read in Python
    (``t.shape``, ``t.size(0)``) comes back as a ``_ValueSize``, and a torch call given one
    makes data-dependent tensors. ``len(t)`` comes back as a plain int whatever ``__len__``
    returns, so the counts read with ``len`` are remembered, and a factory whose first size is
    one of them (``torch.zeros((len(rois), 3, 17))``) is marked too."""

    def __init__(self, marks: ShapeMarks) -> None:
        super().__init__()
        self.marks = marks
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
        marks = self.marks
        if not marks:
            return out
        name = getattr(func, "__name__", "")
        if name in ("__len__", "size", "__get__") and args and isinstance(args[0], torch.Tensor):
            if marks.is_marked(args[0]):
                if name == "__len__":
                    self.lengths.add(int(out))
                return _mark_rows(out, name, args, kwargs)
            return out
        if _holds_value_size(args) or _holds_value_size(tuple(kwargs.values())):
            marks.mark(out)
        elif name in _FACTORIES and self.lengths:
            is_method = bool(args) and isinstance(args[0], torch.Tensor)
            if _first_size(args, is_method) in self.lengths:
                marks.mark(out)
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
