"""Tensors inside arbitrary outputs, their shapes and dtypes, and a module's weight tensors."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from netinspect.records import Shape

_MAX_LEAF_DEPTH = 8


def tensor_leaves(obj: Any) -> list[torch.Tensor]:
    """Every tensor inside ``obj`` in order (see ``named_leaves``).

    Every row asks this of its inputs and outputs, so the common case (tensors in tuples,
    lists and dicts, a few levels deep) is walked here without building names; anything else
    goes to ``named_leaves``."""
    out: list[torch.Tensor] = []
    if _collect(obj, out, 0):
        return out
    return [v for _, v in named_leaves(obj, names=False) if isinstance(v, torch.Tensor)]


# Symbolic sizes are values like ints: a SymInt's attributes lead into the whole ShapeEnv.
_SYM = (torch.SymInt, torch.SymFloat, torch.SymBool)
_PLAIN = frozenset({str, bytes, int, float, bool, complex, type(None), *_SYM})
_FAST_DEPTH = 4


def _collect(obj: Any, out: list[torch.Tensor], depth: int) -> bool:
    """Appends the tensors of a plain nest of tuples, lists and dicts; False when ``obj`` holds
    anything else (or nests deeper), for ``named_leaves`` to walk."""
    kind = type(obj)
    if kind is torch.Tensor or kind is nn.Parameter or isinstance(obj, torch.Tensor):
        out.append(obj)
        return True
    if kind in _PLAIN:
        return True
    if depth >= _FAST_DEPTH:
        return False
    if kind is tuple or kind is list:
        values: Iterable[Any] = obj
    elif kind is dict:
        values = obj.values()
    else:
        return False
    for value in values:  # noqa: SIM110  (a loop: all() over a generator costs a frame per item)
        if not _collect(value, out, depth + 1):
            return False
    return True


def named_tensor_leaves(obj: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor inside ``obj`` in order, with where it sits (see ``named_leaves``)."""
    for path, value in named_leaves(obj):
        if isinstance(value, torch.Tensor):
            yield path, value


def non_tensor_leaves(obj: Any) -> Iterator[tuple[str, str]]:
    """What ``obj`` holds besides tensors and None, with where it sits: ``(path, kind)``, e.g.
    ``("past_key_values", "DynamicCache")`` or ``("[1]", "int")``."""
    for path, value in named_leaves(obj):
        if not isinstance(value, torch.Tensor):
            yield path, _kind(value)


def _kind(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        return f"{type(value).__name__} of {len(value)} {'/'.join(kinds) or 'items'}"
    return type(value).__name__


_SCALARS = (str, bytes, int, float, bool, complex, *_SYM)


def is_opaque(obj: Any) -> bool:
    """Objects that are reported by name, never searched: a Hugging Face cache (its tensors are
    every layer's keys and values, not outputs of this call), modules, classes, functions."""
    cls = type(obj)
    if cls.__name__.endswith("Cache") and cls.__module__.startswith("transformers"):
        return True
    return isinstance(
        obj, (nn.Module, type, types.ModuleType, types.FunctionType, types.MethodType)
    )


def named_leaves(
    obj: Any,
    path: str = "",
    _depth: int = 0,
    _seen: frozenset[int] = frozenset(),
    *,
    names: bool = True,
) -> Iterator[tuple[str, Any]]:
    """Every leaf inside ``obj`` in order, with where it sits: tuples and lists (``[0]``),
    dicts and HF ``ModelOutput`` (``out``, ``[0].boxes``), namedtuples and dataclasses (their
    field names), distributions (their parameters: ``loc``, ``scale``) and plain objects (their
    public attributes: ``result.logits``). A leaf is a tensor or anything else that is not
    None (a number, a string, a cache object); a list of plain values is one leaf. With
    ``names=False`` the paths are left empty (a key's text can be costly to make)."""
    if isinstance(obj, torch.Tensor):
        yield path, obj
        return
    if obj is None or _depth >= _MAX_LEAF_DEPTH or id(obj) in _seen:
        return
    if isinstance(obj, _SCALARS) or is_opaque(obj):
        yield path, obj
        return
    seen = _seen | {id(obj)}
    field = _field if names else _no_field
    if isinstance(obj, Mapping):
        items: Iterable[tuple[str, Any]] = ((field(path, k), v) for k, v in obj.items())
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        items = ((field(path, k), getattr(obj, k)) for k in obj._fields)
    elif isinstance(obj, (list, tuple)):
        if obj and all(isinstance(v, _SCALARS) or v is None for v in obj):
            yield path, obj  # [224, 224], ("a", "b"): one plain value
            return
        items = ((f"{path}[{i}]" if names else "", v) for i, v in enumerate(obj))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = ((field(path, f.name), getattr(obj, f.name, None)) for f in dataclasses.fields(obj))
    elif isinstance(obj, torch.distributions.Distribution):
        # A distribution's parameters (loc, scale, logits...) are what a user wants to see.
        items = ((field(path, k), obj.__dict__.get(k)) for k in dict(obj.arg_constraints))
    elif hasattr(obj, "__dict__"):
        items = ((field(path, k), v) for k, v in vars(obj).items() if not k.startswith("_"))
    else:
        yield path, obj
        return
    for name, value in items:
        yield from named_leaves(value, name, _depth + 1, seen, names=names)


def _field(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _no_field(path: str, key: object) -> str:
    return ""


def _storage_root(t: torch.Tensor) -> torch.Tensor:
    """The tensor that owns ``t``'s memory: its base for a view, else itself."""
    return t._base if t._base is not None else t


def shape_of(t: torch.Tensor) -> Shape:
    # tuple(), not int() per dim: on a symbolic pass the dims are SymInts, and int() would
    # specialise them to their hints (and add a guard).
    return tuple(t.shape)


_DTYPE_NAMES: dict[torch.dtype, str] = {}


def dtype_name(dtype: torch.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
    return name


def is_uninitialized(t: torch.Tensor) -> bool:
    """A lazy module's parameter or buffer before its first forward (no shape yet)."""
    kind = type(t)
    if kind is nn.Parameter or kind is torch.Tensor:
        return False  # the common case, without Parameter's Python-level isinstance hook
    return isinstance(t, (UninitializedParameter, UninitializedBuffer))


WeightKey = Hashable


def weight_tensors(module: nn.Module, *, recurse: bool) -> Iterator[tuple[WeightKey, torch.Tensor]]:
    """A module's weights, each with a key that is the same wherever it is met: its
    parameters, and the packed weight and bias of quantized (int8) modules, which keep them
    outside ``parameters()`` (``_weight_bias()``). A quantized Linear and the packed-params
    module inside it share one owner, the innermost module along ``_packed_params``."""
    modules = module.modules() if recurse else (module,)
    seen: set[WeightKey] = set()
    for m in modules:
        # ``_parameters`` directly: ``parameters(recurse=False)`` is a chain of generators,
        # and every module call asks.
        found: list[tuple[WeightKey, torch.Tensor]] = [
            (id(p), p) for p in m._parameters.values() if p is not None
        ]
        # Looked up on the class: a missing attribute on a module instance raises inside
        # nn.Module.__getattr__, which costs more than the rest of this function.
        weight_bias = getattr(m, "_weight_bias", None) if hasattr(type(m), "_weight_bias") else None
        if callable(weight_bias):
            owner: object = m
            while isinstance(inner := getattr(owner, "_packed_params", None), nn.Module):
                owner = inner
            found += [
                (("packed", id(owner), i), t)
                for i, t in enumerate(weight_bias())
                if isinstance(t, torch.Tensor)
            ]
        for key, t in found:
            if key not in seen:
                seen.add(key)
                yield key, t


def is_trainable(key: WeightKey, t: torch.Tensor) -> bool:
    """Registered parameters that require grad. Packed int8 weights (tuple keys) are never
    trainable: no optimizer sees them, even when their bias comes back as a Parameter."""
    return not isinstance(key, tuple) and t.requires_grad


def has_lazy_init(module: nn.Module) -> bool:
    """A lazy module (nn.LazyLinear...) whose first call will materialise its weights."""
    if not isinstance(module, LazyModuleMixin):
        return False
    return any(
        is_uninitialized(t)
        for t in (*module._parameters.values(), *module._buffers.values())
        if t is not None
    )
