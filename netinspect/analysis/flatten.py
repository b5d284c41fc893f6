"""The flatten point and the layer that consumes it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netinspect.analysis.layers import is_leaf, subtree_end
from netinspect.records import (
    FlattenConsumer,
    FlattenPoint,
    LayerRecord,
    Shape,
)


def _drops_to_2d(layer: LayerRecord) -> bool:
    """A (batch, features) output from a >=3-D input with the same batch size."""
    if not layer.input_shapes or not layer.output_shapes:
        return False
    src, out = layer.input_shapes[0], layer.output_shapes[0]
    return len(src) >= 3 and len(out) == 2 and src[0] == out[0]


def _flattened_dims(src: Shape, out: Shape) -> Shape:
    """The dims that were multiplied into the feature axis, or () for a selection like x[:, 0]."""
    tail = src[1:]
    return tail if math.prod(tail) == out[1] else ()


def find_flatten_point(layers: Sequence[LayerRecord]) -> FlattenPoint | None:
    """The first row whose output drops from >=3-D to 2-D.

    A container that flattens (a Sequential ending in nn.Flatten, or the root module itself)
    qualifies too, so we descend to the innermost qualifying row: the one that does the work.
    """
    lo, hi = 0, len(layers)
    chosen: int | None = None
    while True:
        found = next((i for i in range(lo, hi) if _drops_to_2d(layers[i])), None)
        if found is None:
            break
        chosen = found
        lo, hi = found + 1, subtree_end(layers, found)
    if chosen is None:
        return None
    row = layers[chosen]
    src, out = row.input_shapes[0], row.output_shapes[0]
    return FlattenPoint(
        layer_index=row.index,
        name=row.name,
        kind=row.kind,
        type=row.type,
        input_shape=src,
        output_shape=out,
        source=row.source,
        flattened_dims=_flattened_dims(src, out),
        consumer=find_consumer(layers, chosen),
    )


def find_consumer(layers: Sequence[LayerRecord], flat_pos: int) -> FlattenConsumer | None:
    """The first leaf row after the flatten point that does more than pass the features through
    (Dropout and activations are skipped), with the size it expects when it declares one."""
    features = layers[flat_pos].output_shapes[0]
    for j in range(subtree_end(layers, flat_pos), len(layers)):
        row = layers[j]
        if not is_leaf(layers, j):
            continue
        expected = row.attributes.get("in_features")
        passes_through = (
            expected is None
            and row.input_shapes[:1] == (features,)
            and row.output_shapes[:1] == (features,)
        )
        if passes_through:
            continue
        expected_int = expected if isinstance(expected, int) and expected > 0 else None
        return FlattenConsumer(
            layer_index=row.index,
            name=row.name,
            type=row.type,
            expected_in_features=expected_int,
            matches=None if expected_int is None else expected_int == features[-1],
        )
    return None
