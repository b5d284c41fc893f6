"""The flatten point on the main path (what inspections report), and how it was looked for.

Candidates keep the model input's batch in dim 0 (``analysis.flatten_path``), reach an output
without being broadcast back, and the one nearest an output wins; where that cannot be judged
(a failed pass, no data flow) the first-drop rule of ``analysis.flatten`` answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from netinspect.analysis.flatten import (
    _data_input,
    _is_twin,
    _point,
    data_rows,
    find_flatten_point,
    has_data_flow,
)
from netinspect.analysis.flatten_path import (
    BatchDims,
    MainPath,
    absent_reason,
    keeps_batch,
    token_reshape,
)
from netinspect.records import FlattenPoint, FlattenSearch, LayerRecord, Shape, TokenReshape

__all__ = ["BatchDims", "batch_moves_before", "search_flatten"]

# Token reshapes listed beside the flatten point (an LLM has one per MoE block).
_MAX_TOKEN_RESHAPES = 16


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
