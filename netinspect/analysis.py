"""Pure functions over records: the flatten point, its consumer, folding rows to a depth.
No torch here."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from netinspect.records import (
    FlattenConsumer,
    FlattenPoint,
    InspectionReport,
    LayerRecord,
    Shape,
)


def training_bytes_estimate(
    param_bytes: int, trainable_param_bytes: int, buffer_bytes: int, activation_bytes: int
) -> int:
    """Memory for one training step with Adam, in bytes:

        params + buffers + grads (1×) + Adam's exp_avg and exp_avg_sq (2×) + saved activations

    Grads and both Adam states exist only for trainable parameters and take the parameter's
    dtype, hence ``3 × trainable_param_bytes``. Saved activations are estimated by every new
    tensor the forward pass produced (``activation_bytes``), an upper bound on what autograd
    keeps for backward. Not counted: the optimizer's step temporaries, allocator fragmentation,
    CUDA context, mixed-precision master copies.
    """
    return param_bytes + buffer_bytes + 3 * trainable_param_bytes + activation_bytes


def subtree_end(layers: Sequence[LayerRecord], i: int) -> int:
    """Index one past the last descendant of row ``i`` (rows are in pre-order)."""
    depth = layers[i].depth
    j = i + 1
    while j < len(layers) and layers[j].depth > depth:
        j += 1
    return j


def is_leaf(layers: Sequence[LayerRecord], i: int) -> bool:
    return subtree_end(layers, i) == i + 1


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


def fold_to_depth(report: InspectionReport, depth: int) -> InspectionReport:
    """Hide rows deeper than ``depth``; their params are summed into the visible ancestor."""
    layers = report.layers
    kept: list[LayerRecord] = []
    i = 0
    while i < len(layers):
        row = layers[i]
        if row.depth > depth:
            i += 1
            continue
        if row.depth == depth:
            end = subtree_end(layers, i)
            inner = layers[i + 1 : end]
            row = dataclasses.replace(
                row,
                params=row.params + sum(r.params for r in inner),
                trainable_params=row.trainable_params + sum(r.trainable_params for r in inner),
                shared_params=row.shared_params + sum(r.shared_params for r in inner),
            )
        kept.append(row)
        i += 1
    return dataclasses.replace(report, layers=tuple(kept))
