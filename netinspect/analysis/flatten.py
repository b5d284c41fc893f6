"""The flatten point by the first-drop rule, and the rows that consume a flatten point.

With data flow (``LayerRecord.inputs_from``), ``find_flatten_point`` gives the first row on
the data path (its input derives from a model input: parameters, buffers and tables made in
forward never qualify) whose output keeps dim 0 and drops from >=3-D to 2-D. The main-path
search (``analysis.flatten_search``) is the one inspections use; it falls back to this rule
where the batch cannot be tracked. The consumers are the rows that read the flatten point's
output, found by following it (through Dropout, activations, norms and other rows that keep
the features' shape), with the chain of rows on the way to the first. Reports saved without
data flow fall back to row order.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from netinspect.analysis.layers import is_leaf, subtree_end
from netinspect.records import (
    ChainLink,
    FlattenConsumer,
    FlattenOperation,
    FlattenPoint,
    LayerRecord,
    Shape,
)

# Op names (the part after the last dot of a function row's type) by what they do to the
# dims they drop.
_REDUCTIONS = frozenset(
    {
        "mean", "sum", "amax", "amin", "max", "min", "prod", "std", "var", "norm", "logsumexp",
        "nanmean", "nansum", "median", "nanmedian", "mode", "all", "any", "argmax", "argmin",
        "std_mean", "var_mean", "count_nonzero", "einsum",
    }
)  # fmt: skip
_SELECTIONS = frozenset(
    {
        "__getitem__", "select", "index_select", "gather", "narrow", "take_along_dim",
        "unbind", "chunk", "split", "tensor_split", "take", "masked_select",
    }
)  # fmt: skip


def _is_2d_drop(src: Shape, out: Shape) -> bool:
    """A (batch, features) output from a >=3-D input with the same batch size."""
    return len(src) >= 3 and len(out) == 2 and src[0] == out[0]


def flatten_operation(row: LayerRecord, src: Shape, out: Shape) -> FlattenOperation:
    """How ``row`` makes its 2-D output: by its op's name when it is a reduction or an
    indexing op, else "flattens" when the features are the product of the input's dims."""
    op = row.type.rsplit(".", 1)[-1] if row.kind == "function" else ""
    if op in _REDUCTIONS:
        return "reduces"
    if op in _SELECTIONS:
        return "selects"
    if math.prod(src[1:]) == out[1]:
        return "flattens"
    return "other"


def has_data_flow(layers: Sequence[LayerRecord]) -> bool:
    return bool(layers) and all(r.inputs_from is not None for r in layers)


def data_rows(layers: Sequence[LayerRecord]) -> list[bool]:
    """Per row: whether some input derives from a model input (follows ``inputs_from``)."""
    position = {r.index: i for i, r in enumerate(layers)}
    is_data = [False] * len(layers)
    for i, row in enumerate(layers):
        for source in row.inputs_from or ():
            if source == "input":
                is_data[i] = True
            elif isinstance(source, int):
                j = position.get(source)
                is_data[i] = j is not None and j < i and is_data[j]
            if is_data[i]:
                break
    return is_data


def _data_input(row: LayerRecord, is_data: list[bool], position: dict[int, int]) -> int | None:
    """The position in ``row.input_shapes`` of its first input on the data path."""
    for k, source in enumerate(row.inputs_from or ()):
        if source == "input" or (
            isinstance(source, int) and source in position and is_data[position[source]]
        ):
            return k if k < len(row.input_shapes) else None
    return None


def find_flatten_point(layers: Sequence[LayerRecord]) -> FlattenPoint | None:
    """The first row on the data path whose output drops from >=3-D to 2-D.

    A container that flattens (a Sequential ending in nn.Flatten, or the root module itself)
    qualifies too, so we descend to the innermost qualifying row: the one that does the work.
    """
    flow = has_data_flow(layers)
    position = {r.index: i for i, r in enumerate(layers)}
    is_data = data_rows(layers) if flow else []

    def data_drop(i: int) -> Shape | None:
        """The input shape that ``layers[i]`` drops to 2-D, when it does."""
        row = layers[i]
        if not row.output_shapes or not row.input_shapes:
            return None
        k: int | None = 0
        if flow:
            k = _data_input(row, is_data, position) if is_data[i] else None
        if k is None:
            return None
        src = row.input_shapes[k]
        return src if _is_2d_drop(src, row.output_shapes[0]) else None

    lo, hi = 0, len(layers)
    chosen: int | None = None
    while True:
        found = next((i for i in range(lo, hi) if data_drop(i) is not None), None)
        if found is None:
            break
        chosen = found
        lo, hi = found + 1, subtree_end(layers, found)
    if chosen is None:
        return None
    return _point(layers, chosen, data_drop(chosen) or (), position, is_data)


def _point(
    layers: Sequence[LayerRecord],
    chosen: int,
    src: Shape,
    position: dict[int, int],
    is_data: list[bool],
) -> FlattenPoint:
    row = layers[chosen]
    out = row.output_shapes[0]
    operation = flatten_operation(row, src, out)
    chain: tuple[ChainLink, ...] = ()
    if is_data:
        consumers_list, chain = _flow_consumers(layers, chosen, position, is_data)
        consumers = tuple(consumers_list)
    else:
        first = find_consumer(layers, chosen)
        consumers = () if first is None else (first,)
    return FlattenPoint(
        layer_index=row.index,
        name=row.name,
        kind=row.kind,
        type=row.type,
        input_shape=src,
        output_shape=out,
        source=row.source,
        flattened_dims=src[1:] if operation == "flattens" else (),
        consumer=consumers[0] if consumers else None,
        operation=operation,
        consumers=consumers,
        consumer_chain=chain,
    )


def _consumer(row: LayerRecord, features: Shape, from_index: int | None) -> FlattenConsumer:
    expected = row.attributes.get("in_features")
    expected_int = expected if isinstance(expected, int) and expected > 0 else None
    return FlattenConsumer(
        layer_index=row.index,
        name=row.name,
        type=row.type,
        expected_in_features=expected_int,
        matches=None if expected_int is None else expected_int == features[-1],
        from_layer_index=from_index,
    )


def _passes_through(row: LayerRecord, features: Shape) -> bool:
    """Dropout, activations, norms, ``x * scale``: the features come out in the same shape and
    the row declares no ``in_features`` to check."""
    return (
        row.attributes.get("in_features") is None
        and features in row.input_shapes
        and row.output_shapes[:1] == (features,)
    )


def _is_twin(row: LayerRecord, other: LayerRecord) -> bool:
    """The same drop from the same tensor in the same place (``x[:, 1]`` beside ``x[:, 0]``)."""
    return (
        row.parent == other.parent
        and row.type == other.type
        and row.inputs_from == other.inputs_from
        and row.input_shapes == other.input_shapes
        and row.output_shapes[:1] == other.output_shapes[:1]
    )


def _twins(layers: Sequence[LayerRecord], pos: int, is_data: list[bool]) -> list[int]:
    """Rows that make the same drop from the same tensor as the flatten point, beside it:
    the second class token ``x[:, 1]`` next to ``x[:, 0]``."""
    flat = layers[pos]
    out = []
    for j in range(subtree_end(layers, pos), len(layers)):
        row = layers[j]
        if (
            is_data[j]
            and row.parent == flat.parent
            and row.type == flat.type
            and row.inputs_from == flat.inputs_from
            and row.input_shapes == flat.input_shapes
            and row.output_shapes[:1] == flat.output_shapes[:1]
            and is_leaf(layers, j)
        ):
            out.append(j)
    return out


class _Flow:
    """Who reads what, indexed once: ``readers_of[row index]`` lists the positions of the rows
    that take in a tensor that row made, and ``ends[pos]`` is ``subtree_end(layers, pos)``.
    Following the flatten point's output is then linear in what it reaches, not in the whole
    table for every step (a recurrent model's per-step rows made it quadratic)."""

    def __init__(self, layers: Sequence[LayerRecord]) -> None:
        self.layers = layers
        self.readers_of: dict[int, list[int]] = {}
        for q, row in enumerate(layers):
            for source in row.inputs_from or ():
                if isinstance(source, int):
                    self.readers_of.setdefault(source, []).append(q)
        self.ends = [len(layers)] * len(layers)
        open_rows: list[int] = []  # ancestors of the current row, by position
        for q, row in enumerate(layers):
            while open_rows and layers[open_rows[-1]].depth >= row.depth:
                self.ends[open_rows.pop()] = q
            open_rows.append(q)

    def readers(self, pos: int) -> list[int]:
        """Rows after ``layers[pos]``'s subtree that take in a tensor made inside it (its
        output), keeping one row per nested chain: a torch module inside a container that
        hands it the tensor (Sequential -> Linear), and a module rather than the op inside it
        that does the work (a Linear subclass calling F.linear)."""
        layers, end = self.layers, self.ends[pos]
        readers = sorted(
            {
                q
                for k in range(pos, end)
                for q in self.readers_of.get(layers[k].index, ())
                if q >= end
            }
        )
        chosen = set(readers)
        for at, q in enumerate(readers):
            inner = readers[at + 1 : bisect.bisect_left(readers, self.ends[q])]
            if any(layers[r].kind == "module" for r in inner):
                chosen.discard(q)  # a container: its module child is the one that reads
            elif layers[q].kind == "module":
                chosen.difference_update(inner)  # ops inside a module that reads the same tensor
        return sorted(chosen)


def _flow_consumers(
    layers: Sequence[LayerRecord], pos: int, position: dict[int, int], is_data: list[bool]
) -> tuple[list[FlattenConsumer], tuple[ChainLink, ...]]:
    """Every row that reads the features (through rows that pass them on unchanged), and the
    chain of rows from the flatten point to the first of them."""
    features = layers[pos].output_shapes[0]
    flow = _Flow(layers)
    found: dict[int, FlattenConsumer] = {}
    # Per position reached: the position it was reached from (the chain back to the start).
    came_from: dict[int, int] = {}
    for start in (pos, *_twins(layers, pos, is_data)):
        origin = layers[start].index
        todo, visited = [start], {start}
        while todo:
            at = todo.pop()
            for q in flow.readers(at):
                if q in visited:
                    continue
                visited.add(q)
                came_from.setdefault(q, at)
                if _passes_through(layers[q], features):
                    todo.append(q)
                elif layers[q].index not in found:
                    found[layers[q].index] = _consumer(layers[q], features, origin)
    consumers = [found[i] for i in sorted(found)]
    chain: list[ChainLink] = []
    # The chain ends at the head; with no head (a features-only model), at the last row the
    # features pass through on their way out.
    end = position[consumers[0].layer_index] if consumers else max(came_from, default=None)
    if end is not None:
        at = end
        while at in came_from and at != pos:
            row = layers[at]
            chain.append(ChainLink(row.index, row.name, row.type))
            at = came_from[at]
    return consumers, tuple(reversed(chain))


def find_consumer(layers: Sequence[LayerRecord], flat_pos: int) -> FlattenConsumer | None:
    """Without data flow: the first leaf row after the flatten point that does more than pass
    the features through (Dropout and activations are skipped)."""
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
        return _consumer(row, features, None)
    return None
