"""The main path for the flatten point: which 2-D drops keep the model input's batch, which of
them reach a model output, and why there is no flatten point when none does.

A candidate takes a tensor with the batch in dim 0 and at least two more dims to ``[B, F]``.
With the batch known per row (``BatchDims``, from a second pass with another batch), a
leading ``B·heads`` or ``B·T`` is told from the batch; without it the row's own shapes decide
(input and output share dim 0). A candidate is on the main path when its output reaches a
model output through the data-flow graph without being broadcast back: a row that mixes it
with another data tensor of three or more dims and makes a tensor of three or more dims (a
gate's ``x * w[:, :, None, None]``, attention against keys, a recurrent state) ends that path.
Masks and values read for their shape only reach no output at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from netinspect.records import LayerRecord, Shape, TokenReshape

# Per row index: the batch dim of each input and of each output (None where it holds none).
BatchDims = dict[int, tuple[tuple[int | None, ...], tuple[int | None, ...]]]

# Bound on the rows one candidate's walk visits (a recurrent model's per-step rows).
_WALK_LIMIT = 20_000


def keeps_batch(
    row: LayerRecord,
    k: int,
    src: Shape,
    out: Shape,
    batch_dims: BatchDims | None,
    batch_size: int | None,
) -> bool:
    """Whether input ``k`` (``src``, >= 3-D) has the batch in dim 0 and the 2-D ``out`` too."""
    if len(src) < 3 or len(out) != 2:
        return False
    dims = batch_dims.get(row.index) if batch_dims is not None else None
    if dims is not None:
        ins, outs = dims
        return k < len(ins) and ins[k] == 0 and bool(outs) and outs[0] == 0
    return src[0] == out[0] and (batch_size is None or src[0] == batch_size)


def token_reshape(
    row: LayerRecord, src: Shape, out: Shape, k: int, batch_dims: BatchDims | None
) -> TokenReshape | None:
    """``[B, T, H] -> [B·T, H]``: the batch folded into the rows of a 2-D tensor."""
    if len(src) < 3 or len(out) != 2 or out[1] != src[-1] or out[0] != math.prod(src[:-1]):
        return None
    if out[0] == src[0]:
        return None
    dims = batch_dims.get(row.index) if batch_dims is not None else None
    if dims is not None and (k >= len(dims[0]) or dims[0][k] != 0):
        return None
    return TokenReshape(row.index, row.name, row.type, src, out)


class MainPath:
    """The data-flow graph indexed once: readers of each row's tensors, subtree ends, which
    rows made a model output of at most two dims (an output that keeps a sequence or spatial
    axis is no end for a flatten point: a scan's per-step ``[B, D]`` stacked back into
    ``[B, L, D]`` is not one)."""

    def __init__(
        self,
        layers: Sequence[LayerRecord],
        output_sources: Sequence[object],
        outputs: Sequence[Shape],
    ) -> None:
        self.layers = layers
        self.position = {r.index: i for i, r in enumerate(layers)}
        self.readers_of: dict[int, list[int]] = {}
        for q, row in enumerate(layers):
            for source in row.inputs_from or ():
                if isinstance(source, int):
                    self.readers_of.setdefault(source, []).append(q)
        self.ends = [len(layers)] * len(layers)
        open_rows: list[int] = []
        for q, row in enumerate(layers):
            while open_rows and layers[open_rows[-1]].depth >= row.depth:
                self.ends[open_rows.pop()] = q
            open_rows.append(q)
        self.output_rows = {
            self.position[s]
            for s, shape in zip(output_sources, outputs, strict=False)
            if isinstance(s, int) and s in self.position and len(shape) <= 2
        }

    def _broadcasts_back(self, q: int, lineage: set[int], is_data: list[bool]) -> bool:
        row = self.layers[q]
        if not row.output_shapes or len(row.output_shapes[0]) < 3:
            return False
        for k, source in enumerate(row.inputs_from or ()):
            if source in lineage or k >= len(row.input_shapes):
                continue
            is_data_input = source == "input" or (
                isinstance(source, int)
                and source in self.position
                and is_data[self.position[source]]
            )
            if is_data_input and len(row.input_shapes[k]) >= 3:
                return True
        return False

    def distance_to_output(self, pos: int, is_data: list[bool]) -> int | None:
        """Steps from ``layers[pos]`` to a row that made a model output, along readers that do
        not broadcast the features back (None: no output is reached that way)."""
        if pos in self.output_rows:
            return 0
        layers = self.layers
        lineage = {layers[k].index for k in range(pos, self.ends[pos])}
        frontier = [q for k in range(pos, self.ends[pos]) for q in self._next(k, pos)]
        seen: set[int] = set()
        steps = 1
        while frontier and len(seen) < _WALK_LIMIT:
            following: list[int] = []
            for q in frontier:
                if q in seen:
                    continue
                seen.add(q)
                if self._broadcasts_back(q, lineage, is_data):
                    continue
                if q in self.output_rows:
                    return steps
                lineage.add(layers[q].index)
                following += self._next(q, pos)
            frontier, steps = following, steps + 1
        return None

    def _next(self, k: int, start: int) -> list[int]:
        end = self.ends[start]
        return [q for q in self.readers_of.get(self.layers[k].index, ()) if q >= end]


def absent_reason(outputs: Sequence[Shape], output_names: Sequence[str]) -> str:
    """Why no row is a flatten point, from the model's outputs."""
    if not outputs:
        return "the forward pass returned no tensor"
    names = [*output_names[: len(outputs)], *[""] * (len(outputs) - len(output_names))]
    kept = [(s, n) for s, n in zip(outputs, names, strict=True) if len(s) >= 3]
    if len(kept) == len(outputs):
        shape, name = kept[0]
        text = "[" + ", ".join(map(str, shape)) + "]"
        axis = "the sequence axis" if len(shape) == 3 else "its spatial axes"
        label = f" ({name})" if name else ""
        more = f" (and {len(kept) - 1} more outputs like it)" if len(kept) > 1 else ""
        return f"output {text}{label} keeps {axis}{more}"
    return "no row on the way to a 2-D output takes the batch from >=3-D to [batch, features]"
