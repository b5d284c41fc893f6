"""Data flow: for every tensor a row takes in, the row that produced it.

Tensors are followed by identity (``id`` plus a weak reference, so nothing is kept alive and a
reused id is told apart). A row's output is credited to the innermost row that made it: a
container that returns its child's output does not take it over, but a row that returns a
tensor it did not make (an in-place ``ReLU``, ``nn.Identity``, ``x.contiguous()``) becomes its
producer, because the data passed through it. The model's parameters and buffers are their
own sources ("param", "buffer"), the model's inputs are "input", and a tensor never seen
before (made in forward by ``torch.zeros``...) is "const".

Ops that are not rows (those inside torch's own modules) make no tensor of a row's, but a
torch container such as ``nn.TransformerEncoderLayer`` hands its children tensors made by
such ops (``x + self._sa_block(x)``). Those tensors take the source of what they were computed
from (the latest producing row; else "input", a weight, "const"), so the child's input still
points at the row its data came from.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch

from netinspect.records import InputSource

# id(tensor) -> (weak reference, source, made by that row rather than derived from its inputs).
_Entry = tuple["weakref.ref[torch.Tensor]", InputSource, bool]


class DataFlow:
    """Where each tensor seen during one pass came from."""

    def __init__(self, params: Iterable[torch.Tensor], buffers: Iterable[torch.Tensor]) -> None:
        self.markers: dict[int, str] = {id(b): "buffer" for b in buffers}
        self.markers.update((id(p), "param") for p in params)
        self._seen: dict[int, _Entry] = {}

    def source_of(self, t: torch.Tensor) -> InputSource:
        key = id(t)
        marker = self.markers.get(key)
        if marker is not None:
            return marker
        entry = self._seen.get(key)
        if entry is not None and entry[0]() is t:
            return entry[1]
        # A view made where nothing was watching (inside a torch module's forward) comes from
        # wherever the tensor it views came from.
        base = t._base
        if base is not None:
            return self.source_of(base)
        return "const"

    def sources(self, leaves: list[torch.Tensor]) -> tuple[InputSource, ...]:
        return tuple(map(self.source_of, leaves))

    def note_model_inputs(self, leaves: list[torch.Tensor]) -> None:
        """The tensors passed to the outermost call: the model's inputs."""
        for t in leaves:
            if id(t) not in self.markers and self.source_of(t) == "const":
                self._seen[id(t)] = (weakref.ref(t), "input", False)

    def note_outputs(self, row_index: int, leaves: list[torch.Tensor]) -> None:
        """Row ``row_index`` returned ``leaves``: it produced those that no inner row made."""
        seen = self._seen
        for t in leaves:
            key = id(t)
            if key in self.markers:
                continue
            entry = seen.get(key)
            if (
                entry is not None
                and entry[2]
                and isinstance(entry[1], int)
                and entry[1] > row_index
                and entry[0]() is t
            ):
                continue  # a row inside this one made it (rows are numbered in call order)
            seen[key] = (weakref.ref(t), row_index, True)

    def note_derived(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> None:
        """An op that is no row computed ``outputs`` from ``inputs``."""
        if not outputs:
            return
        source = lineage(self.source_of(t) for t in inputs)
        for t in outputs:
            if id(t) not in self.markers:
                self._seen[id(t)] = (weakref.ref(t), source, False)


def lineage(sources: Iterable[InputSource]) -> InputSource:
    """The source of a tensor computed from tensors with ``sources``: the latest producing row
    (the step just before), else the model input, else a weight, else "const"."""
    latest = -1
    markers: set[str] = set()
    for s in sources:
        if isinstance(s, int):
            latest = max(latest, s)
        else:
            markers.add(s)
    if latest >= 0:
        return latest
    for marker in ("input", "param", "buffer"):
        if marker in markers:
            return marker
    return "const"
