"""Report -> plain dict (the JSON API; ``deserialize`` reads it back). Key order here is the order users see; keep it stable.

Additions keep ``schema_version`` 1; keys are never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netinspect.records import (
        ErrorRecord,
        FlattenConsumer,
        FlattenPoint,
        FlattenSearch,
        InputRecord,
        InspectionReport,
        LayerRecord,
        Progression,
        Shape,
        ShapeExplanation,
        SymbolicReport,
        Totals,
    )
    from netinspect.training_records import FitSearch, GpuFit, TrainingRecord


def _shapes(shapes: tuple[Shape, ...]) -> list[list[int]]:
    return [list(s) for s in shapes]


def layer_to_dict(layer: LayerRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": layer.index,
        "name": layer.name,
        "kind": layer.kind,
        "type": layer.type,
        "depth": layer.depth,
        "parent": layer.parent,
        "call_index": layer.call_index,
        "input_shapes": _shapes(layer.input_shapes),
        "output_shapes": _shapes(layer.output_shapes),
        "params": layer.params,
        "trainable_params": layer.trainable_params,
        "shared_params": layer.shared_params,
        "source": layer.source,
        "input_dtypes": list(layer.input_dtypes),
        "output_dtypes": list(layer.output_dtypes),
        "attributes": {k: to_jsonable(v) for k, v in layer.attributes.items()},
        "flops": layer.flops,
        "macs": layer.macs,
        "matmul_flops": layer.matmul_flops,
        "activation_bytes": layer.activation_bytes,
        "repeat": layer.repeat,
        "data_dependent": layer.data_dependent,
    }
    if layer.inputs_from is not None:
        # Absent from reports made without data flow (saved before it existed).
        out["inputs_from"] = list(layer.inputs_from)
    if layer.input_shapes_symbolic is not None:
        # Only with named input dims, so reports without them stay byte-identical.
        out["input_shapes_symbolic"] = [list(x) for x in layer.input_shapes_symbolic]
        out["output_shapes_symbolic"] = [list(x) for x in layer.output_shapes_symbolic or ()]
    return out


def to_jsonable(value: Any) -> Any:
    """Tuples (shapes, attribute pairs) become lists, recursively; mappings keep their keys."""
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def consumer_to_dict(consumer: FlattenConsumer) -> dict[str, Any]:
    return {
        "layer_index": consumer.layer_index,
        "name": consumer.name,
        "type": consumer.type,
        "expected_in_features": consumer.expected_in_features,
        "matches": consumer.matches,
        "from_layer_index": consumer.from_layer_index,
    }


def flatten_to_dict(point: FlattenPoint | None) -> dict[str, Any] | None:
    if point is None:
        return None
    consumer = point.consumer
    return {
        "layer_index": point.layer_index,
        "name": point.name,
        "kind": point.kind,
        "type": point.type,
        "input_shape": list(point.input_shape),
        "output_shape": list(point.output_shape),
        "source": point.source,
        "flattened_dims": list(point.flattened_dims),
        "consumer": None if consumer is None else consumer_to_dict(consumer),
        "operation": point.operation,
        "consumers": [consumer_to_dict(c) for c in point.consumers],
        "consumer_chain": [
            {"layer_index": c.layer_index, "name": c.name, "type": c.type}
            for c in point.consumer_chain
        ],
    }


def flatten_search_to_dict(search: FlattenSearch) -> dict[str, Any]:
    return {
        "batch_size": search.batch_size,
        "batch_tracking": search.batch_tracking,
        "batch_note": search.batch_note,
        "absent_reason": search.absent_reason,
        "token_reshapes": [
            {
                "layer_index": t.layer_index,
                "name": t.name,
                "type": t.type,
                "input_shape": list(t.input_shape),
                "output_shape": list(t.output_shape),
            }
            for t in search.token_reshapes
        ],
    }


def error_to_dict(error: ErrorRecord | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {
        "layer_index": error.layer_index,
        "name": error.name,
        "kind": error.kind,
        "type": error.type,
        "source": error.source,
        "input_shapes": _shapes(error.input_shapes),
        "expected": error.expected,
        "message": error.message,
        "hint": error.hint,
        "exception_type": error.exception_type,
        "exception_message": error.exception_message,
    }


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _numbers(values: tuple[float, ...] | None) -> list[int | float] | None:
    return None if values is None else [_number(v) for v in values]


def explanation_to_dict(e: ShapeExplanation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "layer_index": e.layer_index,
        "arithmetic": list(e.arithmetic),
        "cumulative_stride": _numbers(e.cumulative_stride),
        "receptive_field": _numbers(e.receptive_field),
        "warnings": list(e.warnings),
    }
    if e.cumulative_stride_symbolic is not None:
        out["cumulative_stride_symbolic"] = list(e.cumulative_stride_symbolic)
        out["receptive_field_symbolic"] = list(e.receptive_field_symbolic or ())
    return out


def totals_to_dict(totals: Totals) -> dict[str, Any]:
    return {
        "params": totals.params,
        "trainable_params": totals.trainable_params,
        "non_trainable_params": totals.non_trainable_params,
        "param_bytes": totals.param_bytes,
        "param_bytes_by_dtype": dict(sorted(totals.param_bytes_by_dtype.items())),
        "uncalled_params": totals.uncalled_params,
        "flops": totals.flops,
        "macs": totals.macs,
        "matmul_flops": totals.matmul_flops,
        "flops_partial": totals.flops_partial,
        "uncounted_ops": list(totals.uncounted_ops),
        "buffer_bytes": totals.buffer_bytes,
        "activation_bytes": totals.activation_bytes,
    }


def report_to_dict(report: InspectionReport) -> dict[str, Any]:
    out = {
        "schema_version": report.schema_version,
        "netinspect_version": report.netinspect_version,
        "model": {
            "name": report.model.name,
            "source": report.model.source,
            "class": report.model.class_name,
            "description": report.model.description,
        },
        "device": report.device,
        "dtype": report.dtype,
        "inputs": [_input_to_dict(i) for i in report.inputs],
        "layers": [layer_to_dict(layer) for layer in report.layers],
        "flatten": flatten_to_dict(report.flatten),
    }
    if report.flatten_search is not None:
        # Every inspection has it; reports built or saved without it stay as they were.
        out["flatten_search"] = flatten_search_to_dict(report.flatten_search)
    out |= {
        "outputs": _shapes(report.outputs),
        "output_names": list(report.output_names),
        "data_dependent_outputs": list(report.data_dependent_outputs),
        "totals": totals_to_dict(report.totals),
        "error": error_to_dict(report.error),
        "notes": list(report.notes),
        "environment": dict(report.environment),
    }
    if report.explanations is not None:
        # Only when asked for (--explain), so reports without it stay byte-identical.
        out["explain"] = [explanation_to_dict(e) for e in report.explanations]
    if report.symbolic is not None:
        # Only with named input dims (--input Bx3xHxW).
        out["symbolic"] = symbolic_to_dict(report.symbolic)
    if report.weights is not None:
        # Only with --weights.
        from netinspect.checkpoint_serialize import weights_to_dict

        out["weights"] = weights_to_dict(report.weights)
    if report.training is not None:
        # Only with --train.
        out["training"] = training_to_dict(report.training)
    return out


def gpu_fit_to_dict(fit: GpuFit) -> dict[str, Any]:
    return {
        "gpu": fit.gpu,
        "memory_bytes": fit.memory_bytes,
        "peak_bytes": fit.peak_bytes,
        "allowances": [
            {"name": a.name, "bytes": a.bytes, "basis": a.basis} for a in fit.allowances
        ],
        "needed_bytes": fit.needed_bytes,
        "margin_bytes": fit.margin_bytes,
        "fits": fit.fits,
    }


def training_to_dict(t: TrainingRecord) -> dict[str, Any]:
    return {
        "peak_bytes": t.peak_bytes,
        "peak_phase": t.peak_phase,
        "peak_module": t.peak_module,
        "by_category": dict(t.by_category),
        "per_module": dict(t.per_module),
        "loss": {"kind": t.loss_kind, "text": t.loss},
        "optimizer": {"name": t.optimizer, "implementation": t.optimizer_implementation},
        "target": t.target,
        "dtype": t.dtype,
        "amp": t.amp,
        "checkpoint": list(t.checkpoint),
        "series": {
            "categories": list(t.series_categories),
            "phases": list(t.series_phases),
            "bytes": [list(point) for point in t.series],
        },
        "gpu": None if t.gpu is None else gpu_fit_to_dict(t.gpu),
    }


def _input_to_dict(i: InputRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"name": i.name, "shape": list(i.shape), "dtype": i.dtype}
    if i.shape_symbolic is not None:
        out["shape_symbolic"] = list(i.shape_symbolic)
    return out


def progression_to_dict(p: Progression) -> dict[str, Any]:
    return {"start": p.start, "step": p.step, "stop": p.stop}


def symbolic_to_dict(sym: SymbolicReport) -> dict[str, Any]:
    flat = sym.flatten
    return {
        "symbols": [
            {
                "name": s.name,
                "hint": s.hint,
                "hint_source": s.hint_source,
                "positions": list(s.positions),
                "range": [s.range_lower, s.range_upper],
                "valid": [progression_to_dict(p) for p in s.valid],
                "valid_text": s.valid_text,
                "specialised": s.specialised,
            }
            for s in sym.symbols
        ],
        "hints": {s.name: s.hint for s in sym.symbols},
        "conditions": [
            {
                "expression": c.expression,
                "symbols": list(c.symbols),
                "layer_index": c.layer_index,
                "source": c.source,
                "binding": c.is_binding,
            }
            for c in sym.conditions
        ],
        "ranges": {s.name: [s.range_lower, s.range_upper] for s in sym.symbols},
        "outputs": [list(x) for x in sym.outputs],
        "flatten": None
        if flat is None
        else {
            "flattened_dims": list(flat.flattened_dims),
            "features": flat.features,
            "depends_on": list(flat.depends_on),
            "consumer_condition": flat.consumer_condition,
            "consumer_valid": dict(flat.consumer_valid),
        },
        "notes": list(sym.notes),
        "error": sym.error,
    }


def fit_search_to_dict(search: FitSearch) -> dict[str, Any]:
    """``sizes MODEL --train --gpu NAME --format json`` (schema ``fit``)."""
    return {
        "schema_version": 1,
        "model": search.model,
        "dim": search.dim,
        "inputs": list(search.inputs),
        "gpu": search.gpu,
        "memory_bytes": search.memory_bytes,
        "optimizer": search.optimizer,
        "dtype": search.dtype,
        "largest": search.largest,
        "capped": search.capped,
        "at_largest": None if search.at_largest is None else gpu_fit_to_dict(search.at_largest),
        "at_next": None if search.at_next is None else gpu_fit_to_dict(search.at_next),
        "trials": [
            {
                "size": t.size,
                "peak_bytes": t.peak_bytes,
                "needed_bytes": t.needed_bytes,
                "fits": t.fits,
            }
            for t in search.trials
        ],
    }
