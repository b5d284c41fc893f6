"""Pure functions over records: the flatten point, its consumer, folding rows to a depth.
No torch here."""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from collections.abc import Sequence
from fractions import Fraction

from netinspect.records import (
    FlattenConsumer,
    FlattenPoint,
    InspectionReport,
    LayerRecord,
    Shape,
    ShapeExplanation,
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
    # O(1): in pre-order a row has children exactly when the next row is deeper.
    return i + 1 >= len(layers) or layers[i + 1].depth <= layers[i].depth


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
    return dataclasses.replace(report, layers=tuple(kept), explanations=explanations)


def number_text(x: float) -> str:
    """``32``, ``32/7`` (an exact small fraction: strides after upsampling are ratios of
    sizes), else ``4.571``."""
    if float(x).is_integer():
        return str(int(x))
    ratio = Fraction(x).limit_denominator(1000)
    if abs(float(ratio) - x) <= 1e-9 * max(1.0, abs(x)):
        return f"{ratio.numerator}/{ratio.denominator}"
    return f"{x:.4g}"


def dims_text(values: Sequence[float]) -> str:
    """``51`` when every spatial dim agrees, else ``51×35``."""
    if len(set(values)) == 1:
        return number_text(values[0])
    return "×".join(number_text(v) for v in values)


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
    shapes and parameter counts, recursively). A run holding the flatten point or the failed
    row stays expanded so that they remain visible. Linear in the number of rows.
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
