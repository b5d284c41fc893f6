"""Where the model input's batch sits in the rows, and the flatten point found with it.

Candidates for the flatten point are first judged by their shapes against the inputs' shared
leading dim (the batch). That is exact while every row on the way into the chosen one keeps
the batch in dim 0 (a CNN, torchvision's ViT); where one changes dim 0 (attention's
``[3, B, heads, N, d]``, ``[B·heads, ...]``), a second pass decides.

A dim that is ``b`` on the report's pass and ``b + 1`` on a second pass with every input's
leading dim set to ``b + 1`` is the batch. A product such as batch × heads or batch × tokens
scales too but does not equal the batch, and a constant (a kept 1, a channel count) stays put,
so the comparison is exact where a row's own shapes (``src[0] == out[0]``) are not. Rows are
matched by name and call index. The second pass runs only where it is cheap and comparable:
under the plan the report's pass used (weights on meta; on cpu only for a small model), after
a pass that got through, with inputs made from specs whose tensors share a leading dim.
Elsewhere the first 2-D drop on the data path stays the answer, and the JSON says so
(``FlattenSearch.batch_tracking`` "row shapes", with the reason).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from netinspect.analysis.flatten_search import BatchDims, batch_moves_before, search_flatten
from netinspect.capture.bridge import MetaBridge
from netinspect.capture.guard import ModelStateGuard
from netinspect.capture.hooks import CallCapture
from netinspect.pipeline.device import Plan
from netinspect.pipeline.inputs import _prepare_inputs
from netinspect.pipeline.request import PassResult, Request
from netinspect.records import FlattenPoint, FlattenSearch, LayerRecord, Shape
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
    """The leading dim every input tensor shares (rank >= 2), or None. A list input (a
    detection model's images, each ``[C, H, W]``) has no batch dim to share."""
    if not specs or any(isinstance(s.value, tuple) for s in specs):
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


def second_pass_refusal(plan: Plan, flops: int) -> str | None:
    """Why a second pass under ``plan`` would be costly, or None when it is cheap: weights on
    meta (the inputs may be small real tensors), or on cpu for a small model."""
    if plan.weights.type == "meta":
        return None
    if plan.weights.type == "cpu" and flops <= CHEAP_REAL_PASS_FLOPS:
        return None
    return f"a second pass on {plan.weights.type} would be costly"


def trace_batch(
    model: nn.Module,
    specs: tuple[InputSpec, ...],
    layers: tuple[LayerRecord, ...],
    plan: Plan,
    *,
    forward_kwargs: dict[str, object],
    float_dtype: torch.dtype,
) -> BatchTrace:
    """The batch dims of ``layers`` (the report's pass) from a second pass under the same
    plan with every input's leading dim one larger."""
    batch = common_batch(specs)
    assert batch is not None
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


def locate_flatten(
    request: Request,
    model: nn.Module,
    result: PassResult,
    layers: tuple[LayerRecord, ...],
    outputs: dict[str, Any],
    failed_at: LayerRecord | None,
) -> tuple[FlattenPoint | None, FlattenSearch]:
    """The flatten point of the report's pass (``analysis.flatten.search_flatten``).

    Candidates are judged against the inputs' batch by their shapes; when a row on the way into
    the chosen one changes dim 0 (so dim 0 there may equal the batch by coincidence), a second
    pass with another batch decides (``trace_batch``). A failed pass, a pass on a costly real
    device or tensors given through the API keep the first 2-D drop on the data path."""
    capture = result.capture
    flops = sum(r.flops for r in capture.rows) + capture.unattributed_flops
    batch = common_batch(request.specs)
    tensors = outputs.pop("tensors")
    common: dict[str, Any] = {
        **outputs,
        "output_sources": [capture.flow.source_of(t) for t in tensors],
        "failed_at": failed_at,
        "batch_size": batch,
    }
    refusal = None
    if failed_at is not None:
        refusal = "the forward failed"
    elif request.specs is None:
        refusal = "the inputs are tensors, not specs"
    elif batch is None:
        refusal = "the inputs share no leading (batch) dim"
    else:
        refusal = second_pass_refusal(result.plan, flops)
    if refusal is not None:
        return search_flatten(layers, **common, batch_note=refusal, main_path=False)
    assert request.specs is not None and batch is not None
    point, search = search_flatten(layers, **common)
    if point is None or not batch_moves_before(layers, point, batch):
        return point, search
    guard = ModelStateGuard(model) if request.is_callers_module else nullcontext()
    with guard:
        trace = trace_batch(
            model,
            request.specs,
            layers,
            result.plan,
            forward_kwargs={**request.target.default_args, **request.forward_args},
            float_dtype=request.float_dtype,
        )
    if trace.dims is None:
        return point, dataclasses.replace(search, batch_note=trace.note)
    return search_flatten(layers, **common, batch_dims=trace.dims)
