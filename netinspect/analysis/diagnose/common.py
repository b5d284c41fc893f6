"""Shared vocabulary of the diagnoses: records, names, producers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netinspect.records import (
    LayerRecord,
    Shape,
)


def per_dim(value: object, n: int) -> tuple[int, ...] | None:
    """A module's int-or-tuple setting (kernel_size=3 or (3, 3)) as one int per spatial dim."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, tuple) and len(value) == n and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """``message`` always; ``expected`` and ``hint`` when the cause is clear."""

    expected: str | None
    message: str
    hint: str | None
    # A window failure's smallest model input (spatial dims) that reaches the failing layer;
    # the pipeline checks it runs and rewrites the hint (``window_hint``).
    min_input: tuple[int, ...] | None = None


# Elementwise ops whose operands must broadcast, mapped to the verb of the message.
_BROADCAST_OPS: dict[str, str] = {
    **dict.fromkeys(("add", "add_", "__add__", "__iadd__", "__radd__"), "added to"),
    **dict.fromkeys(
        ("sub", "sub_", "subtract", "__sub__", "__isub__", "__rsub__"), "subtracted from"
    ),
    **dict.fromkeys(
        ("mul", "mul_", "multiply", "__mul__", "__imul__", "__rmul__"), "multiplied by"
    ),
    **dict.fromkeys(
        ("div", "div_", "divide", "true_divide", "__truediv__", "__itruediv__", "__rtruediv__"),
        "divided by",
    ),
    **dict.fromkeys(("maximum", "minimum", "where", "lerp", "addcmul"), "combined with"),
}
_JOIN_OPS = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack"})
_FLATTEN_OPS = frozenset({"flatten", "view", "reshape", "Flatten"})
# Attributes that mark a layer with floating-point weights applied to its input.
_WEIGHTED_ATTRS = ("in_channels", "in_features", "num_features", "normalized_shape", "num_channels")


def clip_text(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters of a message taken from an exception: a model may raise
    with megabytes of text, and a diagnosis is one readable line."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def fmt_dims(shape: Sequence[int]) -> str:
    """``[1,128,16,16]``: compact, as in the messages."""
    return "[" + ",".join(str(d) for d in shape) + "]"


def fmt_size(dims: Sequence[int]) -> str:
    """``7×7``: a spatial size or a product of factors."""
    return "×".join(str(d) for d in dims)


def op_name(row: LayerRecord) -> str:
    """The op's short name of a function row (``add`` for ``layer1.0.add``)."""
    return row.name.rsplit(".", 1)[-1] if row.parent else row.name


def _label(row: LayerRecord) -> str:
    if row.kind == "function":
        where = f" in {row.parent}" if row.parent else ""
        return f"{op_name(row)}(){where}"
    return f"{row.type} {row.name or '(root)'}"


def _is_floating(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat", "complex"))


def _producer(layers: Sequence[LayerRecord], before: int, shape: Shape) -> LayerRecord | None:
    """The latest finished row before ``before`` that made a tensor of ``shape`` and changed
    it (pass-through rows such as ReLU or BatchNorm are skipped)."""
    for j in range(before - 1, -1, -1):
        row = layers[j]
        if row.output_shapes[:1] != (shape,):
            continue
        if row.input_shapes[:1] != (shape,):
            return row
    return None


# The names of a window layer's spatial dims, by how many it has.
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def spatial_dims(row: LayerRecord) -> int | None:
    """Number of spatial dims a layer works on: from its kernel, or its type's ``Nd`` suffix."""
    kernel = row.attributes.get("kernel_size")
    if isinstance(kernel, tuple):
        return len(kernel)
    if row.type.endswith(("1d", "2d", "3d")):
        return int(row.type[-2])
    return None
