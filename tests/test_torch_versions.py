"""The same answers on every torch in the supported range (docs/torch-versions.md).

A fixed set of models (torchvision, timm, a user's file) against stored expectations in
``tests/expected/torch_versions.json``: totals, outputs, the flatten point and ``sizes`` sets.
Each expected number is derived independently (published counts, hand arithmetic: see each
entry's ``why``), never copied from netinspect's output. CI runs this on the newest torch and
on the floor, so a newer torch that changes an answer (2.9's symbolic guards once did) fails
here instead of printing a wrong set with exit 0. FLOPs are checked against torch's own
``FlopCounterMode`` on the same torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from netinspect.pipeline.run import inspect_model
from netinspect.pipeline.sizes import find_sizes

ROOT = Path(__file__).resolve().parent.parent
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "expected" / "torch_versions.json").read_text()
)["models"]


def _target(name: str) -> str:
    return str(ROOT / name) if name.startswith("tests/") else name


def _needs(name: str) -> None:
    if name.startswith("timm:"):
        pytest.importorskip("timm")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_totals_outputs_and_flatten_point(name: str) -> None:
    _needs(name)
    want = EXPECTED[name]
    report = inspect_model(_target(name), [want["input"]], device="meta")
    assert report.totals.params == want["params"]
    assert [list(s) for s in report.outputs] == [want["output"]]
    if "macs" in want:
        assert report.totals.macs == want["macs"]
    flatten = report.flatten
    assert flatten is not None
    assert list(flatten.input_shape) == want["flatten"]["input"]
    assert list(flatten.output_shape) == want["flatten"]["output"]
    if "name" in want["flatten"]:
        assert flatten.name.rsplit(".", 1)[-1] == want["flatten"]["name"]
    # The invariant beside the stored numbers: per-row parameters add up to the total.
    assert (
        sum(r.params for r in report.layers) + report.totals.uncalled_params == report.totals.params
    )


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "resnet18"])
def test_flops_match_torchs_own_counter(name: str) -> None:
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None).eval()
        x = torch.zeros(1, 3, 224, 224)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    report = inspect_model(name, ["1x3x224x224"], device="meta")
    # The matmul/conv-only figure is the one defined to equal torch's FlopCounterMode.
    assert report.totals.matmul_flops == counter.get_total_flops()


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "sizes" in EXPECTED[n]))
def test_sizes_sets(name: str) -> None:
    """The accepted range of each named dim, however this torch's symbolic pass fares: exact
    from the conditions, or probed (and labelled so) where they cannot be trusted."""
    want = EXPECTED[name]["sizes"]
    report = find_sizes(_target(name), want["input"], hints=want.get("hints"), up_to=64)
    got = {d.label: [d.minimum, d.maximum] for d in report.dims}
    assert got == {k: v for k, v in want.items() if k not in ("input", "hints")}
    for d in report.dims:
        if d.valid is None:  # probed: the method line must say so
            assert "probed" in (d.method_detail or "") or report.method != "symbolic"
