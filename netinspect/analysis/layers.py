"""The row tree: subtrees, folding to a depth, collapsing repeated blocks."""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Sequence

from netinspect.analysis.numbers import dims_text
from netinspect.records import (
    InputSource,
    InspectionReport,
    LayerRecord,
    ShapeExplanation,
)


def subtree_end(layers: Sequence[LayerRecord], i: int) -> int:
    """Index one past the last descendant of row ``i`` (rows are in pre-order)."""
    depth = layers[i].depth
    j = i + 1
    while j < len(layers) and layers[j].depth > depth:
        j += 1
    return j


def is_leaf(layers: Sequence[LayerRecord], i: int) -> bool:
    # O(1): in pre-order a row has children exactly when the next row is deeper.
    return i + 1 >= len(layers) or layers[i + 1].depth <= layers[i].depth


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
            row = _summed(row, layers[i : subtree_end(layers, i)])
        kept.append(row)
        i += 1
    return with_layers(report, kept)


def with_layers(report: InspectionReport, kept: Sequence[LayerRecord]) -> InspectionReport:
    """``report`` showing only ``kept`` rows. The explanations of hidden rows are not lost:
    each visible row that hides explained rows (a collapsed run, a folded module) gets one
    explanation saying how stride and receptive field change across them, and carries the
    values at their end."""
    explanations = report.explanations
    if explanations is not None:
        explanations = _fold_explanations(explanations, kept)
    kept = _remap_inputs_from(report.layers, kept)
    return dataclasses.replace(report, layers=tuple(kept), explanations=explanations)


def _remap_inputs_from(
    layers: Sequence[LayerRecord], kept: Sequence[LayerRecord]
) -> list[LayerRecord]:
    """Data flow between visible rows: an input made by a hidden row comes from the visible
    row that hides it (the folded module, the collapsed run), so every index in
    ``inputs_from`` names a row that is shown."""
    if len(kept) == len(layers):
        return list(kept)
    # As in _fold_explanations: a hidden row belongs to the last visible row before it.
    visible = sorted(row.index for row in kept)

    def owner(source: InputSource) -> InputSource:
        if not isinstance(source, int):
            return source
        pos = bisect.bisect_right(visible, source) - 1
        return visible[pos] if pos >= 0 else source

    out = []
    for row in kept:
        if row.inputs_from is not None and any(isinstance(s, int) for s in row.inputs_from):
            row = dataclasses.replace(row, inputs_from=tuple(map(owner, row.inputs_from)))
        out.append(row)
    return out


def _fold_explanations(
    explanations: Sequence[ShapeExplanation], kept: Sequence[LayerRecord]
) -> tuple[ShapeExplanation, ...]:
    # Rows are in pre-order and hiding only ever removes a row's descendants or the later
    # members of a run, so a hidden row belongs to the last visible row before it.
    visible = sorted(row.index for row in kept)
    own: dict[int, ShapeExplanation] = {}
    hidden: dict[int, list[ShapeExplanation]] = {}
    before: dict[int, ShapeExplanation] = {}  # the last explained state before each owner
    last_state: ShapeExplanation | None = None
    for e in sorted(explanations, key=lambda e: e.layer_index):
        pos = bisect.bisect_right(visible, e.layer_index) - 1
        if pos >= 0 and visible[pos] == e.layer_index:
            own[e.layer_index] = e
        elif pos >= 0:
            owner = visible[pos]
            if owner not in hidden and last_state is not None:
                before[owner] = last_state
            hidden.setdefault(owner, []).append(e)
        if e.receptive_field is not None:
            last_state = e
    out: list[ShapeExplanation] = []
    for index in visible:
        inner = hidden.get(index, [])
        base = own.get(index)
        with_state = [e for e in inner if e.receptive_field is not None]
        if not with_state:
            if base is not None:
                out.append(base)
            continue
        last = with_state[-1]
        assert last.receptive_field is not None and last.cumulative_stride is not None
        # Entering the hidden rows: the last state before them, else the model input (1, 1).
        entering = before.get(index)
        ones = (1.0,) * len(last.receptive_field)
        rf_in = entering.receptive_field if entering and entering.receptive_field else ones
        stride_in = entering.cumulative_stride if entering and entering.cumulative_stride else ones
        summary = (
            f"RF {dims_text(rf_in)} → {dims_text(last.receptive_field)}, "
            f"stride {dims_text(stride_in)} → {dims_text(last.cumulative_stride)} "
            f"({len(inner)} explained rows hidden here)"
        )
        warnings = list(base.warnings) if base else []
        warnings += [w for e in inner for w in e.warnings if w not in warnings]
        out.append(
            ShapeExplanation(
                layer_index=index,
                arithmetic=(*(base.arithmetic if base else ()), summary),
                cumulative_stride=last.cumulative_stride,
                receptive_field=last.receptive_field,
                warnings=tuple(warnings),
            )
        )
    return tuple(out)


def _summed(row: LayerRecord, rows: Sequence[LayerRecord], repeat: int = 1) -> LayerRecord:
    """``row`` carrying the sums of every count in ``rows`` (which include ``row`` itself)."""
    return dataclasses.replace(
        row,
        params=sum(r.params for r in rows),
        trainable_params=sum(r.trainable_params for r in rows),
        shared_params=sum(r.shared_params for r in rows),
        flops=sum(r.flops for r in rows),
        macs=sum(r.macs for r in rows),
        matmul_flops=sum(r.matmul_flops for r in rows),
        activation_bytes=sum(r.activation_bytes for r in rows),
        repeat=repeat,
    )


def _tree(layers: Sequence[LayerRecord]) -> tuple[list[int], list[list[int]]]:
    """(subtree end per row, children per row; index -1 holds the top-level rows), in O(n)."""
    n = len(layers)
    ends = [n] * n
    children: list[list[int]] = [[] for _ in range(n + 1)]
    stack: list[int] = []
    for i, row in enumerate(layers):
        while stack and layers[stack[-1]].depth >= row.depth:
            ends[stack.pop()] = i
        children[stack[-1] if stack else -1].append(i)
        stack.append(i)
    return ends, children


def _last_part(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _range_end(first: str, last: str) -> str:
    """``encoder_layer_11`` after ``encoder_layer_0`` -> ``11``: the shared prefix is dropped."""
    a, b = re.fullmatch(r"(.*?)(\d+)", first), re.fullmatch(r"(.*?)(\d+)", last)
    if a and b and a.group(1) == b.group(1):
        return b.group(2)
    return last


def collapse_repeats(report: InspectionReport) -> InspectionReport:
    """Fold runs of consecutive identical sibling calls into one row: ``layer1.0–2`` with
    ``repeat`` 3, carrying the sums of the run's subtrees; their inner rows are hidden.

    Identical means the same kind and type, the same parameter count (own and shared), the same
    input and output shapes, and the same subtree (child types, names relative to the block,
    shapes and parameter counts, recursively). A run holding the flatten point, one of its
    consumers or the failed row stays expanded so that they remain visible. Linear in the number of rows.
    """
    layers = report.layers
    if not layers:
        return report
    ends, children = _tree(layers)
    # Structural signature of every subtree, interned to small ints, built bottom-up (children
    # come after their parent in pre-order) so each row is hashed once.
    interned: dict[tuple[object, ...], int] = {}
    sig = [0] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        row = layers[i]
        key = (
            row.kind,
            row.type,
            row.params + row.shared_params,
            row.input_shapes,
            row.output_shapes,
            tuple((_last_part(layers[c].name), sig[c]) for c in children[i]),
        )
        sig[i] = interned.setdefault(key, len(interned))
    pinned = {p.layer_index for p in (report.flatten, report.error) if p is not None}
    if report.flatten is not None:
        # The rows that read the features stay visible too: the summary names them.
        for c in report.flatten.consumers:
            pinned.add(c.layer_index)
            if c.from_layer_index is not None:
                pinned.add(c.from_layer_index)
    # pinned_before[j]: pinned rows among layers[:j], so "any pinned in a span" is O(1).
    pinned_before = [0]
    for row in layers:
        pinned_before.append(pinned_before[-1] + (row.index in pinned))
    kept: list[LayerRecord] = []

    def emit(i: int) -> None:
        kept.append(layers[i])
        emit_siblings(children[i])

    def emit_siblings(siblings: list[int]) -> None:
        k = 0
        while k < len(siblings):
            first = siblings[k]
            m = k + 1
            while m < len(siblings) and sig[siblings[m]] == sig[first]:
                m += 1
            run = siblings[k:m]
            span_end = ends[run[-1]]
            has_pinned = pinned_before[span_end] > pinned_before[first]
            if len(run) > 1 and not has_pinned:
                last = layers[run[-1]]
                name = layers[first].name
                if last.kind == "module" and last.name != name:
                    name = f"{name}–{_range_end(_last_part(name), _last_part(last.name))}"
                kept.append(
                    dataclasses.replace(
                        _summed(layers[first], layers[first:span_end], repeat=len(run)),
                        name=name,
                        output_shapes=last.output_shapes,
                        output_dtypes=last.output_dtypes,
                    )
                )
            else:
                for j in run:
                    emit(j)
            k = m

    # Recursion depth is the module nesting depth, not the row count.
    emit_siblings(children[-1])
    return with_layers(report, kept)
