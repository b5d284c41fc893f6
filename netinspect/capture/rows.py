"""A row while the pass runs (``RowBuilder``), and what a row records of a module or an op."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from netinspect.capture.tensors import dtype_name, shape_of
from netinspect.records import (
    LayerKind,
    LayerRecord,
    Shape,
)
from netinspect.torch_compat.ops import public_namespace


def is_builtin_module(module: nn.Module) -> bool:
    """torch's own modules: the ops inside them (F.conv2d in Conv2d) are not rows."""
    return type(module).__module__.startswith("torch.")


_MISSING = object()
_PLAIN = frozenset({bool, int, float, str, type(None)})
_NUMBERS = frozenset({int, float, type(None)})


def module_attributes(module: nn.Module) -> dict[str, Any]:
    """Constructor settings that torch.nn declares in ``__constants__`` (in_features, stride...)."""
    out: dict[str, Any] = {}
    own = module.__dict__
    for name in getattr(type(module), "__constants__", ()):
        # Settings are plain instance attributes; the rare property goes through getattr.
        value = own.get(name, _MISSING)
        if value is _MISSING:
            value = getattr(module, name, None)
        kind = type(value)
        if kind in _PLAIN or isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif (kind is tuple or kind is list) and all(
            type(v) in _NUMBERS or isinstance(v, (int, float)) for v in value
        ):
            out[name] = tuple(value)
    return out


# Settings of functional resizes, by position after the input, kept on their rows so that
# --explain can show ⌊13 × 0.5⌋ = 6 rather than a ratio of shapes.
_RESIZE_ARGS: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"),
    ("size", "scale_factor", "mode", "align_corners"),
)


def op_settings(short: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The plain-valued settings (numbers, strings, tuples of numbers) of a resize op call."""
    names = _RESIZE_ARGS.get(short)
    if names is None:
        return {}
    given = {**dict(zip(names, args[1:], strict=False)), **kwargs}
    out: dict[str, Any] = {}
    for key in names:
        value = given.get(key)
        if isinstance(value, list):
            value = tuple(value)
        plain = isinstance(value, (int, float, str)) or (
            isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value)
        )
        if plain:
            out[key] = value
    return out


def op_display(func: Callable[..., Any]) -> tuple[str, str]:
    """(short name, type) for a function seen by the mode, e.g. ("view", "Tensor.view")."""
    name = getattr(func, "__name__", None) or repr(func)
    if name == "__get__":
        owner = getattr(func, "__self__", None)
        attr = getattr(owner, "__name__", "attr")
        return attr, f"Tensor.{attr}"
    if getattr(func, "__objclass__", None) is not None:
        return name, f"Tensor.{name}"
    module = getattr(func, "__module__", None) or "torch"
    return name, f"{public_namespace(module)}.{name}"


@dataclass
class RowBuilder:
    """A row while the pass runs; frozen into a LayerRecord at the end."""

    index: int
    name: str
    kind: LayerKind
    type: str
    depth: int
    parent: str | None
    call_index: int
    source: str | None
    input_shapes: tuple[Shape, ...] = ()
    input_dtypes: tuple[str, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    output_dtypes: tuple[str, ...] = ()
    params: int = 0
    trainable_params: int = 0
    shared_params: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    is_finished: bool = False
    # Aten-level cost of the ops that ran while this row was the innermost one.
    flops: int = 0
    macs: int = 0
    matmul_flops: int = 0
    activation_bytes: int = 0
    # id() of the frame that called this module's hooks, while the call runs.
    caller_frame_id: int = 0
    data_dependent: bool = False
    # Per input tensor, where it came from (see ``capture.flow``); parallel to input_shapes.
    inputs_from: tuple[int | str, ...] = ()

    def freeze(self) -> LayerRecord:
        return LayerRecord(
            index=self.index,
            name=self.name,
            kind=self.kind,
            type=self.type,
            depth=self.depth,
            parent=self.parent,
            call_index=self.call_index,
            input_shapes=self.input_shapes,
            output_shapes=self.output_shapes,
            params=self.params,
            trainable_params=self.trainable_params,
            shared_params=self.shared_params,
            source=self.source,
            input_dtypes=self.input_dtypes,
            output_dtypes=self.output_dtypes,
            attributes=dict(self.attributes),
            flops=self.flops,
            macs=self.macs,
            matmul_flops=self.matmul_flops,
            activation_bytes=self.activation_bytes,
            data_dependent=self.data_dependent,
            inputs_from=self.inputs_from,
        )


def describe(leaves: list[torch.Tensor]) -> tuple[tuple[Shape, ...], tuple[str, ...]]:
    """(shapes, dtype names) of tensor leaves."""
    return tuple(map(shape_of, leaves)), tuple(dtype_name(t.dtype) for t in leaves)
