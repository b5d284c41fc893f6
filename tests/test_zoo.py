"""Every torchvision model inspects with its default input on the default device.

Expected parameter counts come from an independent build: the model made on meta by
torchvision's own builder and counted with ``sum(p.numel() for p in model.parameters())``.
Expected output shapes come from the families' documented heads (ImageNet 1000 classes,
Kinetics-400, VOC 21 classes, RAFT's 12 flow updates).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import pytest
import torch
import torchvision.models as tvm
from torch import nn
from torchvision.models.regnet import BlockParams

from netinspect.pipeline.run import inspect_model

FAMILY_SIZES = {
    "classification": 80,
    "detection": 12,
    "segmentation": 6,
    "video": 9,
    "optical_flow": 2,
    "quantization": 12,
}


def _names(family: str) -> list[str]:
    module = tvm if family == "classification" else getattr(tvm, family)
    return sorted(tvm.list_models(module=module))


# The builder arguments a user would pass to get the untrained model without any download.
_NO_DOWNLOAD = {
    "detection": {"weights_backbone": None},
    "segmentation": {"weights_backbone": None},
    "quantization": {"quantize": False},
}

_from_init_params = BlockParams.from_init_params.__func__  # type: ignore[attr-defined]


def _block_params_on_cpu(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
    # regnet's builders compute their stage widths with tensors and read them back with
    # .tolist(), which a meta tensor cannot do: compute those on cpu, build the layers on meta.
    with torch.device("cpu"):
        return _from_init_params(cls, *args, **kwargs)


@functools.cache
def reference_params(name: str, family: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = BlockParams.from_init_params
        BlockParams.from_init_params = classmethod(_block_params_on_cpu)  # type: ignore[method-assign,assignment]
        try:
            with torch.device("meta"):
                model = tvm.get_model(name, weights=None, **_NO_DOWNLOAD.get(family, {}))
        finally:
            BlockParams.from_init_params = original  # type: ignore[method-assign]
    return sum(p.numel() for p in model.parameters())


@functools.cache
def _schema_validator() -> Any:
    import jsonschema

    from netinspect.schema import report_schema

    return jsonschema.Draft202012Validator(report_schema())


def inspect_checked(name: str) -> Any:
    """Inspect on the default device; every zoo report must also satisfy the JSON Schema."""
    report = inspect_model(name)
    _schema_validator().validate(report.to_dict())
    return report


def test_family_sizes() -> None:
    assert {f: len(_names(f)) for f in FAMILY_SIZES} == FAMILY_SIZES
    assert sum(FAMILY_SIZES.values()) == 121


@pytest.mark.parametrize("name", _names("classification"))
def test_classification(name: str) -> None:
    report = inspect_checked(name)
    assert report.device == "meta"
    assert report.outputs == ((1, 1000),)
    assert report.totals.params == reference_params(name, "classification")


def int8_reference_params(name: str) -> int:
    """Quantization folds every BatchNorm into the conv before it: the int8 model keeps the
    float model's weights minus each BatchNorm's weight and bias, plus one conv bias per BN
    channel, i.e. the float count minus one per BatchNorm channel."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        float_model = tvm.get_model(name, weights=None, quantize=False)
    channels = sum(m.num_features for m in float_model.modules() if isinstance(m, nn.BatchNorm2d))
    return sum(p.numel() for p in float_model.parameters()) - channels


@pytest.mark.parametrize("name", _names("quantization"))
def test_quantization(name: str) -> None:
    report = inspect_checked(name)
    # Real int8 kernels exist for cpu only; --device auto goes there and says so.
    assert report.device == "cpu"
    assert any("quantized int8 kernels run on cpu only" in note for note in report.notes)
    assert report.outputs == ((1, 1000),)
    assert report.totals.params == int8_reference_params(name)
    assert report.totals.trainable_params == 0
    assert report.totals.param_bytes_by_dtype["qint8"] > 0
    # Rows claim every weight but the aux classifiers', which eval mode never calls.
    rows_total = sum(row.params for row in report.layers)
    assert rows_total + report.totals.uncalled_params == report.totals.params
    types = {row.type for row in report.layers}
    assert {"Quantize", "DeQuantize"} <= types


@pytest.mark.parametrize("name", _names("video"))
def test_video(name: str) -> None:
    report = inspect_checked(name)
    assert report.device == "meta"
    (clip,) = report.inputs
    assert clip.shape[:3] == (1, 3, 16)
    assert report.outputs == ((1, 400),)  # Kinetics-400
    assert report.totals.params == reference_params(name, "video")


@pytest.mark.parametrize("name", _names("segmentation"))
def test_segmentation(name: str) -> None:
    report = inspect_checked(name)
    assert report.device == "meta"
    # {"out": N x 21 x H x W} at the input's resolution (VOC's 21 classes, no aux head).
    assert report.outputs == ((1, 21, 224, 224),)
    assert report.totals.params == reference_params(name, "segmentation")


@pytest.mark.parametrize("name", _names("optical_flow"))
def test_optical_flow(name: str) -> None:
    report = inspect_checked(name)
    assert report.device == "meta"
    assert [i.shape for i in report.inputs] == [(1, 3, 224, 224), (1, 3, 224, 224)]
    # One flow field per refinement step, 12 by default.
    assert report.outputs == ((1, 2, 224, 224),) * 12
    assert report.totals.params == reference_params(name, "optical_flow")


@pytest.mark.parametrize("name", _names("detection"))
def test_detection(name: str) -> None:
    report = inspect_checked(name)
    # Post-processing (NMS, nonzero) has data-dependent sizes: meta cannot run it.
    assert report.device == "cpu"
    assert any(note.endswith("ran on cpu (random init replaced by zeros)") for note in report.notes)
    # Boxes, scores and labels: their count depends on the values.
    assert report.data_dependent_outputs == tuple(range(len(report.outputs)))
    assert [i.shape for i in report.inputs] == [(3, 224, 224)]
    # One dict per image: boxes N x 4, scores N, labels N (+ masks / keypoints).
    boxes, scores, labels, *extra = report.outputs
    n = boxes[0]
    assert boxes == (n, 4)
    assert scores == (n,)
    assert labels == (n,)
    if name.startswith("maskrcnn"):
        assert len(extra) == 1 and extra[0][:2] == (n, 1)
    elif name.startswith("keypointrcnn"):
        assert extra == [(n, 17, 3), (n, 17)]
    else:
        assert extra == []
    assert report.totals.params == reference_params(name, "detection")
