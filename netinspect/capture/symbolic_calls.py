"""How torch functions run on the symbolic pass: ``SymbolicCallMode``, a TorchFunctionMode.

Two jobs, both about running torch's own kernels well on symbolic sizes:

* **The Python dispatcher where C++ would specialise.** Some composite kernels refuse
  symbolic sizes in C++ (``upsample_bilinear2d.vec`` behind ``F.interpolate(size=...)``) or
  turn them into constants (a resize by a scale factor computes its output size in C++, which
  pins B and H to their hints). torch's Python decompositions of the same ops keep them
  symbolic; those calls go through the Python dispatcher, as ``torch.export`` runs them.

* **Repeated calls reuse torch's answer.** On fake tensors a function's output metadata
  (shape, strides, dtype) depends only on its inputs' metadata and its other arguments, and
  every guard it needs was recorded the first time. So a call whose function and arguments
  match an earlier one exactly (the same symbolic size expressions, strides, dtypes, and
  equal plain arguments) gets fresh fake tensors with the earlier outputs' metadata instead
  of running again. This is what makes repeated blocks cheap: ViT's twelve encoder layers,
  RAFT's twelve refinement steps. In-place functions, ``out=`` calls, outputs that are not
  tensors or that start inside a storage, and arguments we cannot key exactly are never
  cached; they simply run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from netinspect.torch_compat.ops import python_dispatcher

# Resizes by a scale factor: always through the Python decomposition (see above).
_RESIZES = frozenset({"interpolate", "upsample", "upsample_nearest", "upsample_bilinear"})
# Dunder methods that are pure functions of their operands; other dunders (__setitem__,
# __iadd__, __get__ ...) mutate or return non-tensors and always run.
_PURE_DUNDERS = frozenset(
    {
        "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
        "__rtruediv__", "__floordiv__", "__rfloordiv__", "__matmul__", "__rmatmul__",
        "__pow__", "__rpow__", "__neg__", "__getitem__", "__and__", "__or__", "__invert__",
        "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__mod__",
    }
)  # fmt: skip


class _Uncacheable(Exception):
    pass


def _key(x: Any) -> Hashable:
    """An exact, hashable description of one argument; raises _Uncacheable otherwise."""
    if isinstance(x, torch.Tensor):
        return (
            "tensor",
            tuple(_size(d) for d in x.shape),
            tuple(_size(s) for s in x.stride()),
            _size(x.storage_offset()),
            x.dtype,
            x.device.type,
            x.layout,
        )
    if isinstance(x, torch.SymInt):
        return ("sym", x.node.expr)
    if isinstance(x, (bool, int, float, str, type(None), torch.dtype, torch.device)):
        return (type(x).__name__, x)
    if isinstance(x, (torch.layout, torch.memory_format)):
        return ("enum", str(x))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(_key(v) for v in x))
    if isinstance(x, slice):
        return ("slice", _key(x.start), _key(x.stop), _key(x.step))
    if x is Ellipsis:
        return "..."
    raise _Uncacheable


def _has_tensor(args: Any) -> bool:
    """A tensor among the arguments, also inside lists (``torch.cat([a, b])``)."""
    return any(
        isinstance(a, torch.Tensor) or (isinstance(a, (tuple, list)) and _has_tensor(a))
        for a in args
    )


def _size(d: Any) -> Hashable:
    return ("sym", d.node.expr) if isinstance(d, torch.SymInt) else int(d)


_Meta = tuple[tuple[Any, ...], tuple[Any, ...], torch.dtype, torch.device] | None


def _metas(result: Any) -> tuple[bool, tuple[_Meta, ...]] | None:
    """(is_sequence, per output tensor metadata, None for a None output such as attention
    weights not asked for), or None when not reusable."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    if not any(isinstance(t, torch.Tensor) for t in items):
        return None
    metas: list[_Meta] = []
    for t in items:
        if t is None:
            metas.append(None)
        elif (
            not isinstance(t, torch.Tensor) or t.storage_offset() != 0 or t.layout != torch.strided
        ):
            return None
        else:
            metas.append((tuple(t.shape), tuple(t.stride()), t.dtype, t.device))
    return isinstance(result, (tuple, list)), tuple(metas)


class SymbolicCallMode(TorchFunctionMode):
    """See the module docstring. One per symbolic pass: the cache lives as long as the pass."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[Hashable, tuple[bool, tuple[_Meta, ...], type]] = {}
        self.hits = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        key = self._cache_key(func, name, args, kwargs)
        if key is not None and key in self.cache:
            self.hits += 1
            is_sequence, metas, kind = self.cache[key]
            fresh = [
                None
                if meta is None
                else torch.empty_strided(meta[0], meta[1], dtype=meta[2], device=meta[3])
                for meta in metas
            ]
            return kind(fresh) if is_sequence else fresh[0]
        result = self._run(func, name, args, kwargs)
        if key is not None:
            found = _metas(result)
            if found is not None:
                self.cache[key] = (found[0], found[1], type(result))
        return result

    @staticmethod
    def _cache_key(
        func: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Hashable | None:
        is_dunder = name.startswith("__") and name.endswith("__")
        if (is_dunder and name not in _PURE_DUNDERS) or (name.endswith("_") and not is_dunder):
            return None
        if "out" in kwargs or not _has_tensor(args):
            return None  # factories (arange, zeros) and calls we cannot key: they just run
        try:
            return (
                func,
                torch.is_grad_enabled(),
                _key(args),
                tuple(sorted((k, _key(v)) for k, v in kwargs.items())),
            )
        except (_Uncacheable, TypeError):
            return None

    @staticmethod
    def _run(
        func: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if name in _RESIZES:
            with python_dispatcher():
                return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except RuntimeError as exc:
            if "expected to contain only concrete" not in str(exc):
                raise
            with python_dispatcher():
                return func(*args, **kwargs)
