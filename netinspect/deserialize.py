"""Plain dicts (saved JSON reports) back into records."""

from __future__ import annotations

from typing import Any

from netinspect.checkpoint_records import WeightRow, WeightsReport
from netinspect.records import (
    SCHEMA_VERSION,
    ChainLink,
    ConditionRecord,
    ErrorRecord,
    FlattenConsumer,
    FlattenPoint,
    FlattenSearch,
    InputRecord,
    InputSource,
    InspectionReport,
    LayerRecord,
    ModelInfo,
    Progression,
    Shape,
    ShapeExplanation,
    SymbolicFlatten,
    SymbolicReport,
    SymbolRecord,
    SymShape,
    TokenReshape,
    Totals,
)
from netinspect.training_records import GpuFit, MemoryAllowance, TrainingRecord

# --- reading back (saved reports, baselines) ---------------------------------------------


def _shape_tuple(values: Any) -> Shape:
    return tuple(int(v) for v in values)


def _attr_value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_attr_value(v) for v in value)
    return value


def layer_from_dict(d: dict[str, Any]) -> LayerRecord:
    return LayerRecord(
        index=int(d["index"]),
        name=str(d["name"]),
        kind=d["kind"],
        type=str(d["type"]),
        depth=int(d["depth"]),
        parent=d.get("parent"),
        call_index=int(d["call_index"]),
        input_shapes=tuple(_shape_tuple(s) for s in d["input_shapes"]),
        output_shapes=tuple(_shape_tuple(s) for s in d["output_shapes"]),
        params=int(d.get("params", 0)),
        trainable_params=int(d.get("trainable_params", 0)),
        shared_params=int(d.get("shared_params", 0)),
        source=d.get("source"),
        input_dtypes=tuple(d.get("input_dtypes", ())),
        output_dtypes=tuple(d.get("output_dtypes", ())),
        attributes={k: _attr_value(v) for k, v in (d.get("attributes") or {}).items()},
        flops=int(d.get("flops", 0)),
        macs=int(d.get("macs", 0)),
        # Reports written before the key existed counted matmuls and convs only.
        matmul_flops=int(d.get("matmul_flops", d.get("flops", 0))),
        activation_bytes=int(d.get("activation_bytes", 0)),
        repeat=int(d.get("repeat", 1)),
        data_dependent=bool(d.get("data_dependent", False)),
        inputs_from=None
        if d.get("inputs_from") is None
        else tuple(_input_source(s) for s in d["inputs_from"]),
        input_shapes_symbolic=_sym_shapes(d.get("input_shapes_symbolic")),
        output_shapes_symbolic=_sym_shapes(d.get("output_shapes_symbolic")),
    )


def _input_source(value: Any) -> InputSource:
    if isinstance(value, str):
        return value
    return int(value)


def _consumer_from_dict(c: dict[str, Any]) -> FlattenConsumer:
    source = c.get("from_layer_index")
    return FlattenConsumer(
        layer_index=int(c["layer_index"]),
        name=c["name"],
        type=c["type"],
        expected_in_features=c.get("expected_in_features"),
        matches=c.get("matches"),
        from_layer_index=None if source is None else int(source),
    )


def _sym_shapes(values: Any) -> tuple[SymShape, ...] | None:
    if values is None:
        return None
    return tuple(tuple(str(x) for x in shape) for shape in values)


def symbolic_from_dict(d: dict[str, Any]) -> SymbolicReport:
    flat = d.get("flatten")
    return SymbolicReport(
        symbols=tuple(
            SymbolRecord(
                name=str(s["name"]),
                hint=int(s["hint"]),
                hint_source=str(s.get("hint_source", "")),
                positions=tuple(s.get("positions", ())),
                valid=tuple(
                    Progression(int(p["start"]), int(p["step"]), p.get("stop"))
                    for p in s.get("valid", ())
                ),
                valid_text=str(s.get("valid_text", "")),
                range_lower=int((s.get("range") or [1, None])[0]),
                range_upper=(s.get("range") or [1, None])[1],
                specialised=s.get("specialised"),
            )
            for s in d.get("symbols", ())
        ),
        conditions=tuple(
            ConditionRecord(
                expression=str(c["expression"]),
                symbols=tuple(c.get("symbols", ())),
                layer_index=c.get("layer_index"),
                source=c.get("source"),
                is_binding=bool(c.get("binding", True)),
            )
            for c in d.get("conditions", ())
        ),
        outputs=_sym_shapes(d.get("outputs")) or (),
        flatten=None
        if flat is None
        else SymbolicFlatten(
            flattened_dims=tuple(str(x) for x in flat["flattened_dims"]),
            features=str(flat["features"]),
            depends_on=tuple(flat.get("depends_on", ())),
            consumer_condition=flat.get("consumer_condition"),
            consumer_valid=tuple(
                (str(k), str(v)) for k, v in (flat.get("consumer_valid") or {}).items()
            ),
        ),
        notes=tuple(d.get("notes", ())),
        error=d.get("error"),
    )


def report_from_dict(d: dict[str, Any]) -> InspectionReport:
    """Rebuild a report from its dict. Raises KeyError/TypeError/ValueError on a malformed one."""
    flat = d.get("flatten")
    flatten = None
    if flat is not None:
        c = flat.get("consumer")
        consumer = None if c is None else _consumer_from_dict(c)
        consumers = flat.get("consumers")
        flatten = FlattenPoint(
            layer_index=int(flat["layer_index"]),
            name=flat["name"],
            kind=flat["kind"],
            type=flat["type"],
            input_shape=_shape_tuple(flat["input_shape"]),
            output_shape=_shape_tuple(flat["output_shape"]),
            source=flat.get("source"),
            flattened_dims=_shape_tuple(flat.get("flattened_dims", ())),
            consumer=consumer,
            operation=flat.get("operation", ""),
            # Reports saved before the list existed have the one consumer.
            consumers=(consumer,)
            if consumers is None and consumer is not None
            else tuple(_consumer_from_dict(x) for x in consumers or ()),
            consumer_chain=tuple(
                ChainLink(int(x["layer_index"]), str(x["name"]), str(x["type"]))
                for x in flat.get("consumer_chain", ())
            ),
        )
    search = d.get("flatten_search")
    flatten_search = None
    if search is not None:
        size = search.get("batch_size")
        flatten_search = FlattenSearch(
            batch_size=None if size is None else int(size),
            batch_tracking=str(search["batch_tracking"]),
            batch_note=search.get("batch_note"),
            absent_reason=search.get("absent_reason"),
            token_reshapes=tuple(
                TokenReshape(
                    int(x["layer_index"]),
                    str(x["name"]),
                    str(x["type"]),
                    _shape_tuple(x["input_shape"]),
                    _shape_tuple(x["output_shape"]),
                )
                for x in search.get("token_reshapes", ())
            ),
        )
    t = d["totals"]
    e = d.get("error")
    error = None
    if e is not None:
        error = ErrorRecord(
            layer_index=e.get("layer_index"),
            name=e.get("name"),
            kind=e.get("kind"),
            type=e.get("type"),
            source=e.get("source"),
            input_shapes=tuple(_shape_tuple(s) for s in e.get("input_shapes", ())),
            expected=e.get("expected"),
            message=e.get("message", ""),
            hint=e.get("hint"),
            exception_type=e.get("exception_type", ""),
            exception_message=e.get("exception_message", ""),
        )
    explain = d.get("explain")
    explanations = None
    if explain is not None:
        explanations = tuple(
            ShapeExplanation(
                layer_index=int(x["layer_index"]),
                arithmetic=tuple(x.get("arithmetic", ())),
                cumulative_stride=None
                if x.get("cumulative_stride") is None
                else tuple(float(v) for v in x["cumulative_stride"]),
                receptive_field=None
                if x.get("receptive_field") is None
                else tuple(float(v) for v in x["receptive_field"]),
                warnings=tuple(x.get("warnings", ())),
                cumulative_stride_symbolic=None
                if x.get("cumulative_stride_symbolic") is None
                else tuple(x["cumulative_stride_symbolic"]),
                receptive_field_symbolic=None
                if x.get("receptive_field_symbolic") is None
                else tuple(x["receptive_field_symbolic"]),
            )
            for x in explain
        )
    return InspectionReport(
        explanations=explanations,
        schema_version=int(d.get("schema_version", SCHEMA_VERSION)),
        netinspect_version=str(d.get("netinspect_version", "")),
        model=ModelInfo(
            name=d["model"]["name"],
            source=d["model"]["source"],
            class_name=d["model"]["class"],
            description=d["model"].get("description"),
        ),
        device=str(d["device"]),
        dtype=str(d["dtype"]),
        inputs=tuple(
            InputRecord(
                name=i["name"],
                shape=_shape_tuple(i["shape"]),
                dtype=i["dtype"],
                shape_symbolic=None
                if i.get("shape_symbolic") is None
                else tuple(str(x) for x in i["shape_symbolic"]),
            )
            for i in d["inputs"]
        ),
        layers=tuple(layer_from_dict(x) for x in d["layers"]),
        flatten=flatten,
        flatten_search=flatten_search,
        outputs=tuple(_shape_tuple(s) for s in d["outputs"]),
        output_names=tuple(str(n) for n in d.get("output_names", ())),
        data_dependent_outputs=tuple(int(i) for i in d.get("data_dependent_outputs", ())),
        totals=Totals(
            params=int(t["params"]),
            trainable_params=int(t["trainable_params"]),
            non_trainable_params=int(t["non_trainable_params"]),
            param_bytes=int(t["param_bytes"]),
            param_bytes_by_dtype=dict(t.get("param_bytes_by_dtype", {})),
            uncalled_params=int(t.get("uncalled_params", 0)),
            flops=int(t.get("flops", 0)),
            macs=int(t.get("macs", 0)),
            matmul_flops=int(t.get("matmul_flops", t.get("flops", 0))),
            flops_partial=bool(t.get("flops_partial", False)),
            uncounted_ops=tuple(str(x) for x in t.get("uncounted_ops", ())),
            buffer_bytes=int(t.get("buffer_bytes", 0)),
            activation_bytes=int(t.get("activation_bytes", 0)),
        ),
        error=error,
        notes=tuple(d.get("notes", ())),
        environment=dict(d.get("environment", {})),
        symbolic=None if d.get("symbolic") is None else symbolic_from_dict(d["symbolic"]),
        weights=None if d.get("weights") is None else weights_from_dict(d["weights"]),
        training=None if d.get("training") is None else training_from_dict(d["training"]),
    )


def _opt_shape(value: Any) -> Shape | None:
    return None if value is None else _shape_tuple(value)


def weights_from_dict(d: dict[str, Any]) -> WeightsReport:
    return WeightsReport(
        path=str(d["path"]),
        rows=tuple(
            WeightRow(
                key=str(r["key"]),
                status=str(r["status"]),
                checkpoint_key=r.get("checkpoint_key"),
                checkpoint_shape=_opt_shape(r.get("checkpoint_shape")),
                checkpoint_dtype=r.get("checkpoint_dtype"),
                model_shape=_opt_shape(r.get("model_shape")),
                model_dtype=r.get("model_dtype"),
            )
            for r in d.get("rows", ())
        ),
        stripped_prefix=d.get("stripped_prefix"),
        unwrapped=tuple(str(x) for x in d.get("unwrapped", ())),
        is_partial=bool(d.get("partial", False)),
        values_loaded=bool(d.get("values_loaded", False)),
        random_init=tuple(str(x) for x in d.get("random_init", ())),
        notes=tuple(str(x) for x in d.get("notes", ())),
    )


def gpu_fit_from_dict(d: dict[str, Any]) -> GpuFit:
    return GpuFit(
        gpu=str(d["gpu"]),
        memory_bytes=int(d["memory_bytes"]),
        peak_bytes=int(d["peak_bytes"]),
        allowances=tuple(
            MemoryAllowance(str(a["name"]), int(a["bytes"]), str(a["basis"]))
            for a in d["allowances"]
        ),
        needed_bytes=int(d["needed_bytes"]),
        margin_bytes=int(d["margin_bytes"]),
        fits=bool(d["fits"]),
    )


def training_from_dict(d: dict[str, Any]) -> TrainingRecord:
    series = d.get("series") or {}
    return TrainingRecord(
        peak_bytes=int(d["peak_bytes"]),
        peak_phase=str(d["peak_phase"]),
        peak_module=str(d["peak_module"]),
        by_category={str(k): int(v) for k, v in d["by_category"].items()},
        per_module={str(k): int(v) for k, v in d["per_module"].items()},
        loss=str(d["loss"]["text"]),
        loss_kind=str(d["loss"]["kind"]),
        optimizer=str(d["optimizer"]["name"]),
        optimizer_implementation=str(d["optimizer"]["implementation"]),
        target=str(d["target"]),
        dtype=str(d["dtype"]),
        amp=d.get("amp"),
        checkpoint=tuple(d.get("checkpoint") or ()),
        series_categories=tuple(series.get("categories") or ()),
        series_phases=tuple(series.get("phases") or ()),
        series=tuple(tuple(int(x) for x in point) for point in series.get("bytes") or ()),
        gpu=None if d.get("gpu") is None else gpu_fit_from_dict(d["gpu"]),
    )
