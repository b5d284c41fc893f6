"""Hand-built records for analysis and renderer tests (no torch, no capture)."""

from __future__ import annotations

from typing import Any

from netinspect.records import InputRecord, InspectionReport, LayerRecord, ModelInfo, Totals


def layer(
    index: int,
    name: str,
    depth: int,
    inp: tuple[int, ...],
    out: tuple[int, ...] | None,
    *,
    kind: str = "module",
    type: str = "Module",
    params: int = 0,
    trainable: int | None = None,
    shared: int = 0,
    parent: str | None = "",
    attributes: dict[str, Any] | None = None,
    call_index: int = 0,
) -> LayerRecord:
    return LayerRecord(
        index=index,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        type=type,
        depth=depth,
        parent=parent,
        call_index=call_index,
        input_shapes=(inp,),
        output_shapes=(out,) if out is not None else (),
        params=params,
        trainable_params=params if trainable is None else trainable,
        shared_params=shared,
        attributes=attributes or {},
    )


def small_cnn_layers() -> tuple[LayerRecord, ...]:
    """root -> features(conv, relu) -> pool -> head(Sequential: Flatten, Dropout, Linear)."""
    return (
        layer(0, "", 0, (1, 3, 8, 8), (1, 10), type="Net", parent=None),
        layer(1, "features", 1, (1, 3, 8, 8), (1, 4, 8, 8), type="Sequential"),
        layer(2, "features.0", 2, (1, 3, 8, 8), (1, 4, 8, 8), type="Conv2d", params=112,
              parent="features"),
        layer(3, "features.1", 2, (1, 4, 8, 8), (1, 4, 8, 8), type="ReLU", parent="features"),
        layer(4, "pool", 1, (1, 4, 8, 8), (1, 4, 2, 2), type="MaxPool2d"),
        layer(5, "head", 1, (1, 4, 2, 2), (1, 10), type="Sequential"),
        layer(6, "head.0", 2, (1, 4, 2, 2), (1, 16), type="Flatten", parent="head"),
        layer(7, "head.1", 2, (1, 16), (1, 16), type="Dropout", parent="head"),
        layer(8, "head.2", 2, (1, 16), (1, 10), type="Linear", params=170, trainable=0,
              parent="head", attributes={"in_features": 16, "out_features": 10}),
    )  # fmt: skip


def report_of(layers: tuple[LayerRecord, ...], **changes: Any) -> InspectionReport:
    from netinspect.analysis.flatten import find_flatten_point

    total = sum(x.params for x in layers)
    trainable = sum(x.trainable_params for x in layers)
    fields: dict[str, Any] = {
        "model": ModelInfo("net", "object", "Net"),
        "device": "meta",
        "dtype": "float32",
        "inputs": (InputRecord("input0", (1, 3, 8, 8), "float32"),),
        "layers": layers,
        "flatten": find_flatten_point(layers),
        "outputs": ((1, 10),),
        "totals": Totals(total, trainable, total - trainable, 4 * total, {"float32": 4 * total}),
        "netinspect_version": "0.0.test",
    }
    fields.update(changes)
    return InspectionReport(**fields)
