"""The flatten point and the rows that consume it.

With data flow (``LayerRecord.inputs_from``), the flatten point is the first row on the data
path (its input derives from a model input: parameters, buffers and tables made in forward
never qualify) whose output keeps the batch dim and drops from >=3-D to 2-D; its consumers are
the rows that read that output, found by following it (through Dropout, activations and other
rows that keep the features' shape). Reports saved without data flow fall back to row order.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from netinspect.analysis.flatten_path import (
    BatchDims,
    MainPath,
    absent_reason,
    keeps_batch,
    token_reshape,
)
from netinspect.analysis.layers import is_leaf, subtree_end
from netinspect.records import (
    ChainLink,
    FlattenConsumer,
    FlattenOperation,
    FlattenPoint,
    FlattenSearch,
    LayerRecord,
    Shape,
    TokenReshape,
)

__all__ = ["BatchDims", "batch_moves_before", "find_flatten_point", "search_flatten"]

# Token reshapes listed beside the flatten point (an LLM has one per MoE block).
_MAX_TOKEN_RESHAPES = 16

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


def search_flatten(
    layers: Sequence[LayerRecord],
    *,
    outputs: Sequence[Shape] = (),
    output_names: Sequence[str] = (),
    output_sources: Sequence[object] | None = None,
    batch_size: int | None = None,
    batch_dims: BatchDims | None = None,
    batch_note: str | None = None,
    failed_at: LayerRecord | None = None,
    main_path: bool = True,
) -> tuple[FlattenPoint | None, FlattenSearch]:
    """The flatten point on the main path, and how it was looked for.

    On the main path (``main_path``, with data flow and the rows that made the outputs,
    ``output_sources``), a candidate must keep the model input's batch in dim 0 (by
    ``batch_dims`` when known, else by its shapes against ``batch_size``) and reach an output
    without being broadcast back (see ``analysis.flatten_path``); the one nearest an output
    wins. Otherwise (a pass on a real device, a failed pass, no data flow) the first 2-D drop
    on the data path is the answer, as ``find_flatten_point`` gives it.
    """
    flow = has_data_flow(layers)
    is_data = data_rows(layers) if flow else []
    position = {r.index: i for i, r in enumerate(layers)}
    tokens: list[TokenReshape] = []
    candidates: list[tuple[int, Shape]] = []
    for i, row in enumerate(layers):
        if flow and not is_data[i]:
            continue
        if not row.output_shapes or not row.input_shapes:
            continue
        k = _data_input(row, is_data, position) if flow else 0
        if k is None:
            continue
        src, out = row.input_shapes[k], row.output_shapes[0]
        if keeps_batch(row, k, src, out, batch_dims, batch_size):
            candidates.append((i, src))
        elif len(tokens) < _MAX_TOKEN_RESHAPES and (
            reshape := token_reshape(row, src, out, k, batch_dims)
        ):
            tokens.append(reshape)
    point: FlattenPoint | None
    main_path = main_path and failed_at is None and flow and output_sources is not None
    if not main_path or output_sources is None:
        point = find_flatten_point(layers)
    else:
        path = MainPath(layers, output_sources, outputs)
        reached = [
            (i, src, d)
            for i, src in candidates
            if (d := path.distance_to_output(i, is_data)) is not None
        ]
        # A container that flattens (a Sequential ending in nn.Flatten) holds the row that
        # does the work: keep the innermost.
        inner = [c for c in reached if not any(c[0] < o[0] < path.ends[c[0]] for o in reached)]
        point = None
        if inner:
            i, src, _ = min(inner, key=lambda c: (c[2], c[0]))
            # A loop's step ``x[:, t]`` nearest the output stands for its twins: the first
            # of them is the flatten point, and every step's consumer is listed.
            i = min(
                (j for j, _ in candidates if j == i or _is_twin(layers[j], layers[i])), default=i
            )
            point = _point(layers, i, src, position, is_data)
    reason = None
    if point is None:
        if failed_at is not None:
            reason = f"not reached: the forward failed at {failed_at.name or '(root)'} (row {failed_at.index})"
        else:
            reason = absent_reason(outputs, output_names)
    search = FlattenSearch(
        batch_size=batch_size,
        batch_tracking="second pass"
        if batch_dims is not None
        else "input batch"
        if main_path
        else "row shapes",
        batch_note=batch_note,
        absent_reason=reason,
        token_reshapes=tuple(tokens),
    )
    return point, search


def batch_moves_before(layers: Sequence[LayerRecord], point: FlattenPoint, batch_size: int) -> bool:
    """Whether a row on the data path into ``point`` changes dim 0 away from ``batch_size``
    (attention's ``[3, B, heads, N, d]``, ``[B·heads, ...]``): then dim 0 at the flatten point
    may equal the batch by coincidence, and only a second pass can tell."""
    if not has_data_flow(layers):
        return True
    position = {r.index: i for i, r in enumerate(layers)}
    is_data = data_rows(layers)
    todo, seen = [position[point.layer_index]], set()
    while todo:
        pos = todo.pop()
        row = layers[pos]
        for k, source in enumerate(row.inputs_from or ()):
            if not isinstance(source, int) or source not in position or source in seen:
                continue
            at = position[source]
            if not is_data[at]:
                continue
            seen.add(source)
            producer = layers[at]
            shapes = (*producer.output_shapes[:1], *row.input_shapes[k : k + 1])
            if any(not s or s[0] != batch_size for s in shapes):
                return True
            for j, inner in enumerate(producer.inputs_from or ()):
                shape = producer.input_shapes[j] if j < len(producer.input_shapes) else ()
                if inner == "input" and (not shape or shape[0] != batch_size):
                    return True
            todo.append(at)
    return False


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
