"""Where the model input's batch sits in every row: a second pass with another batch.

A dim that is ``b`` on the report's pass and ``b + 1`` on a second pass with every input's
leading dim set to ``b + 1`` is the batch. A product such as batch × heads or batch × tokens
scales too but does not equal the batch, and a constant (a kept 1, a channel count) stays put,
so the comparison is exact where a row's own shapes (``src[0] == out[0]``) are not. Rows are
matched by name and call index. The second pass runs only where it is cheap and comparable:
under the plan the report's pass used (weights on meta; on cpu only for a small model), after
a pass that got through, with inputs made from specs whose tensors share a leading dim.
Elsewhere the flatten analysis falls back to the row's shapes and says so
(``FlattenSearch.batch_tracking``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from netinspect.analysis.flatten import BatchDims
from netinspect.capture.bridge import MetaBridge
from netinspect.capture.hooks import CallCapture
from netinspect.pipeline.device import Plan
from netinspect.pipeline.inputs import _prepare_inputs
from netinspect.records import LayerRecord, Shape
from netinspect.specs import InputSpec, TensorSpec, int_shape


@dataclasses.dataclass(frozen=True)
class BatchTrace:
    """The batch size, per row the batch dim of each input and output, or why not known."""

    batch: int | None
    dims: BatchDims | None
    # "second pass" when ``dims`` holds, else "row shapes", with the reason in ``note``.
    method: str
    note: str | None = None


def _tensor_specs(specs: tuple[InputSpec, ...]) -> list[TensorSpec]:
    out: list[TensorSpec] = []
    for spec in specs:
        out += spec.value if isinstance(spec.value, tuple) else (spec.value,)
    return out


def common_batch(specs: tuple[InputSpec, ...] | None) -> int | None:
    """The leading dim every input tensor shares (rank >= 2), or None."""
    if not specs:
        return None
    tensors = _tensor_specs(specs)
    try:
        shapes = [int_shape(t) for t in tensors]
    except ValueError:
        return None
    if not shapes or any(len(s) < 2 for s in shapes):
        return None
    leading = {s[0] for s in shapes}
    return leading.pop() if len(leading) == 1 else None


def _with_batch(specs: tuple[InputSpec, ...], batch: int) -> tuple[InputSpec, ...]:
    def one(t: TensorSpec) -> TensorSpec:
        return dataclasses.replace(t, shape=(batch, *t.shape[1:]))

    return tuple(
        dataclasses.replace(
            s, value=tuple(map(one, s.value)) if isinstance(s.value, tuple) else one(s.value)
        )
        for s in specs
    )


def _dims(first: Shape, second: Shape, b: int, b2: int) -> int | None:
    if len(first) != len(second):
        return None
    return next(
        (d for d, (x, y) in enumerate(zip(first, second, strict=True)) if x == b and y == b2), None
    )


def compare_passes(
    first: tuple[LayerRecord, ...], second: tuple[LayerRecord, ...], b: int, b2: int
) -> BatchDims:
    """Per row index of ``first``: the batch dim of each input and output (None: none), for
    the rows that ``second`` has too (same name, call index and ranks)."""
    by_key = {(r.name, r.call_index): r for r in second}
    dims: BatchDims = {}
    for row in first:
        other = by_key.get((row.name, row.call_index))
        if other is None or len(other.input_shapes) != len(row.input_shapes):
            continue
        if len(other.output_shapes) != len(row.output_shapes):
            continue
        dims[row.index] = (
            tuple(
                _dims(x, y, b, b2)
                for x, y in zip(row.input_shapes, other.input_shapes, strict=True)
            ),
            tuple(
                _dims(x, y, b, b2)
                for x, y in zip(row.output_shapes, other.output_shapes, strict=True)
            ),
        )
    return dims


# A second pass on a real device runs the model again: only for models this cheap.
CHEAP_REAL_PASS_FLOPS = 2 * 10**9


def trace_batch(
    model: nn.Module,
    specs: tuple[InputSpec, ...] | None,
    layers: tuple[LayerRecord, ...],
    plan: Plan,
    *,
    forward_kwargs: dict[str, object],
    float_dtype: torch.dtype,
    flops: int,
) -> BatchTrace:
    """The batch dims of ``layers`` (the report's pass) from a second pass under the same plan
    (``pipeline.device``), when one applies: weights on meta (the inputs may be small real
    tensors), or on cpu for a model of at most ``CHEAP_REAL_PASS_FLOPS``."""
    batch = common_batch(specs)
    if specs is None:
        return BatchTrace(None, None, "row shapes", "the inputs are tensors, not specs")
    if batch is None:
        return BatchTrace(None, None, "row shapes", "the inputs share no leading (batch) dim")
    if plan.weights.type != "meta" and not (
        plan.weights.type == "cpu" and flops <= CHEAP_REAL_PASS_FLOPS
    ):
        where = plan.weights.type
        return BatchTrace(batch, None, "row shapes", f"a second pass on {where} would be costly")
    b2 = batch + 1
    prepared = _prepare_inputs(None, _with_batch(specs, b2), plan.inputs, float_dtype)
    kwargs = {**prepared.kwargs, **forward_kwargs}
    try:
        with (
            torch.no_grad(),
            MetaBridge(real_values=plan.real_values, stand_ins=plan.stand_ins),
            torch.device(plan.weights),
            CallCapture(model, count_costs=False) as capture,
        ):
            model(*prepared.args, **kwargs)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        reason = f"a pass with batch {b2} failed ({type(exc).__name__})"
        return BatchTrace(batch, None, "row shapes", reason)
    return BatchTrace(batch, compare_passes(layers, capture.records(), batch, b2), "second pass")
