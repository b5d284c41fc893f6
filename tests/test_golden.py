"""vgg16 golden files (table and JSON), each paired with invariants that hold independently.

Refresh with ``python -m pytest tests/test_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from netinspect import inspect_model
from netinspect.records import InspectionReport
from netinspect.render import OutputFormat, RenderOptions, render_report
from tests.conftest import GOLDEN

# torchvision's VGG16 configuration "D": channels per conv, "M" = 2x2 max-pool.
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M"]  # fmt: skip


def vgg16_params_by_hand() -> int:
    total, c_in = 0, 3
    for v in VGG16_CFG:
        if v != "M":
            assert isinstance(v, int)
            total += c_in * v * 3 * 3 + v
            c_in = v
    for n_in, n_out in ((512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)):
        total += n_in * n_out + n_out
    return total


@pytest.fixture(scope="module")
def vgg16() -> InspectionReport:
    return inspect_model("vgg16", ["1x3x224x224"])


def stable_dict(report: InspectionReport) -> dict[str, Any]:
    """What a golden may compare: versions and the machine are not part of the architecture."""
    data = report.to_dict()
    data["netinspect_version"] = "<version>"
    data["environment"] = {}
    return data


def check_golden(path: Path, text: str, update: bool) -> None:
    if update or not path.exists():
        if not update:
            pytest.fail(f"{path} is missing: run pytest --update-golden")
        path.write_text(text, encoding="utf-8")
        return
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (--update-golden?)"


def test_vgg16_json_golden(vgg16: InspectionReport, update_golden: bool) -> None:
    text = json.dumps(stable_dict(vgg16), indent=2) + "\n"
    check_golden(GOLDEN / "vgg16.json", text, update_golden)


def test_vgg16_table_golden(vgg16: InspectionReport, update_golden: bool) -> None:
    text = render_report(vgg16, OutputFormat.table, RenderOptions(width=100, color=False))
    check_golden(GOLDEN / "vgg16.table.txt", text, update_golden)


def test_vgg16_invariants(vgg16: InspectionReport, report_validator: Any) -> None:
    report_validator.validate(vgg16.to_dict())
    assert vgg16.totals.params == vgg16_params_by_hand() == 138_357_544
    # Per-row params sum to the total.
    assert sum(r.params for r in vgg16.layers) == vgg16.totals.params
    assert vgg16.totals.param_bytes == 4 * vgg16.totals.params
    # Shapes chain: each leaf's output is the next leaf's input along features and classifier.
    for prefix in ("features.", "classifier."):
        chain = [r for r in vgg16.layers if r.name.startswith(prefix)]
        for a, b in itertools.pairwise(chain):
            assert a.output_shapes == b.input_shapes, (a.name, b.name)
    # Conv 3x3 pad 1 keeps H, W; each "M" halves them: 224 -> 112 -> 56 -> 28 -> 14 -> 7.
    pools = [r for r in vgg16.layers if r.type == "MaxPool2d"]
    assert [r.output_shapes[0][2] for r in pools] == [112, 56, 28, 14, 7]
    # Data flow: one source per input tensor; a producing row ran before and its output has
    # the consumed shape. vgg16 is a chain, so every leaf reads the leaf before it.
    by_index = {r.index: r for r in vgg16.layers}
    for row in vgg16.layers:
        assert row.inputs_from is not None and len(row.inputs_from) == len(row.input_shapes)
        for source, shape in zip(row.inputs_from, row.input_shapes, strict=True):
            if isinstance(source, int):
                assert source < row.index and shape in by_index[source].output_shapes
    leaves = [r for r in vgg16.layers if r.name.startswith(("features.", "classifier."))]
    assert leaves[0].inputs_from == ("input",)
    for a, b in itertools.pairwise(leaves):
        assert b.inputs_from == (a.index,) or b.name == "classifier.0", (a.name, b.name)


def test_vgg16_flatten_point(vgg16: InspectionReport) -> None:
    flat = vgg16.flatten
    assert flat is not None
    assert (flat.name, flat.kind, flat.type) == ("flatten", "function", "torch.flatten")
    assert flat.input_shape == (1, 512, 7, 7) and flat.output_shape == (1, 512 * 7 * 7)
    assert math.prod(flat.flattened_dims) == 25088
    # VGG.forward's torch.flatten line, found independently in torchvision's source.
    import torchvision.models.vgg as vgg_module

    lines = Path(vgg_module.__file__).read_text().splitlines()
    line = 1 + next(i for i, t in enumerate(lines) if t.strip() == "x = torch.flatten(x, 1)")
    assert flat.source == f"torchvision/models/vgg.py:{line}"
    assert flat.consumer is not None
    assert flat.consumer.name == "classifier.0"
    assert flat.consumer.expected_in_features == 25088 and flat.consumer.matches is True
    # avgpool is not the flatten point: AdaptiveAvgPool2d keeps 4-D.
    (avgpool,) = [r for r in vgg16.layers if r.name == "avgpool"]
    assert avgpool.output_shapes == ((1, 512, 7, 7),)
