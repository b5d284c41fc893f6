"""``netinspect sizes``: accepted input sizes found by probing on meta, with exact bounds.

Bounds by hand:
- vgg16 has five 2×2/2 max-pools: a dim of n survives them iff ⌊n/32⌋ ≥ 1, so n ≥ 32; the
  adaptive pool then fixes 7×7 and the output is always [1, 1000].
- Without the adaptive pool the classifier needs ⌊n/32⌋ = 7 exactly: 224 ≤ n ≤ 255.
- alexnet: conv 11/4 p2, pool 3/2, conv 5 p2, pool 3/2, convs 3 p1, pool 3/2: the last pool
  needs 3, so 7 before the second pool, 15 before the first, (15 − 1)·4 + 11 − 4 = 63.
- resnet18 in eval mode: every stride-2 layer maps 1 to 1 with its padding, so n ≥ 1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.analysis.sizes import (
    DimSizes,
    describe_dim,
    find_step,
    infer_accepted,
    runs,
    scan_dim,
)
from netinspect.pipeline.probe import probe_sizes
from tests.torch_features import PROBED, SIZES_SOLVED

MODELS = Path(__file__).parent / "models" / "sizes_models.py"


def test_vgg16_accepts_32_and_up_with_a_fixed_output() -> None:
    start = time.perf_counter()
    report = probe_sizes("vgg16", "1x3x224x224")
    elapsed = time.perf_counter() - start
    assert [(d.label, d.minimum, d.maximum, d.step) for d in report.dims] == [
        ("H", 32, None, 1),
        ("W", 32, None, 1),
    ]
    assert report.output_constant and report.outputs == ((1, 1000),)
    assert report.fixed_by == "avgpool (AdaptiveAvgPool2d) fixes 7×7"
    assert report.summary == (
        "vgg16 (eval mode): H, W ≥ 32; output always [1,1000] because avgpool "
        "(AdaptiveAvgPool2d) fixes 7×7"
    )
    # At 31 the fifth pool gets ⌊31/16⌋ = 1 row.
    assert report.dims[0].below_minimum == (
        "MaxPool2d features.30: input 1×14 is smaller than the 2×2 window"
    )
    assert elapsed < 20  # a few seconds once torch is imported; generous on a shared machine


def test_vgg16_without_adaptive_pool_accepts_224_to_255() -> None:
    report = probe_sizes(f"{MODELS}:vgg16_no_avgpool", "1x3x224x224")
    for d in report.dims:
        assert (d.minimum, d.maximum, d.step, d.accepted) == (224, 255, 1, ((224, 255),))
    assert describe_dim(report.dims[0]) == "224 to 255 only"
    # 256/32 = 8 rows: 512·8·7 = 28672 features instead of 512·7·7 = 25088.
    assert report.dims[0].above_maximum == (
        "Linear classifier.0: flatten produced 512×8×7 = 28672; Linear expects 25088 = 512×7×7"
    )
    assert report.dims[0].below_minimum is not None
    assert "512×6×7 = 21504" in report.dims[0].below_minimum


def test_alexnet_and_resnet18_minimums() -> None:
    alexnet = probe_sizes("alexnet")
    assert [d.minimum for d in alexnet.dims] == [63, 63]
    resnet = probe_sizes("resnet18", "1x3x224x224")
    assert [(d.minimum, d.maximum) for d in resnet.dims] == [(1, None), (1, None)]
    assert resnet.summary.startswith("resnet18 (eval mode): H, W ≥ 1; output always [1,1000]")


def test_step_bounded_sequence_and_output_dependence() -> None:
    down_up = probe_sizes(f"{MODELS}:DownUp", "1x3x32x32")
    # Two stride-2 convs then ×4: only multiples of 4 come back to the same size for cat.
    assert [(d.minimum, d.maximum, d.step) for d in down_up.dims] == [(4, None, 4), (4, None, 4)]
    assert all(d.output_depends for d in down_up.dims)
    tokens = probe_sizes(f"{MODELS}:Tokens", "1x10:int64")
    (length,) = tokens.dims
    assert (length.label, length.minimum, length.maximum, length.step) == ("L", 1, 16, 1)
    assert length.above_maximum == (
        "embed output [1,17,8] cannot be added to __getitem__() output [1,16,8]: dim 1: 17 vs 16"
    )
    conv = probe_sizes(f"{MODELS}:FullyConv", "1x3x20x20")
    assert [(d.minimum, d.output_depends) for d in conv.dims] == [(5, True), (5, True)]
    assert conv.dims[0].output_samples == ((5, ((1, 4, 1, 16),)), (20, ((1, 4, 16, 16),)))


def test_pure_search_helpers() -> None:
    assert runs([5, 1, 2, 3, 7]) == ((1, 3), (5, 5), (7, 7))
    assert find_step([16, 32, 48]) == 16
    assert find_step([3, 4, 6]) is None

    def window_rule(n: int) -> tuple[tuple[int, ...], ...] | None:
        return ((1,),) if 200 <= n <= 300 else None

    # A run far above the dense part: found by the grid, its edges pinned by bisection.
    assert infer_accepted(scan_dim(window_rule, 250, 512), 512) == list(range(200, 301))
    # A period seen in the dense part is followed above it.
    periodic = scan_dim(lambda n: ((n,),) if n % 16 == 0 else None, 64, 400)
    assert infer_accepted(periodic, 400) == list(range(16, 401, 16))
    dense = scan_dim(lambda n: ((n,),) if n >= 40 else None, 100, 400)
    assert infer_accepted(dense, 400) == list(range(40, 401))
    assert len(dense) < 120  # 64 dense probes, a coarse grid and a bisection, not 400


def test_cli_text_json_and_exit_codes() -> None:
    runner = CliRunner()
    text = runner.invoke(app, ["sizes", "vgg16", "--input", "1x3x224x224"])
    assert text.exit_code == 0
    assert "H (dim 2, given 224): ≥ 32" in text.stdout
    result = runner.invoke(
        app, ["sizes", f"{MODELS}:vgg16_no_avgpool", "--input", "1x3x224x224", "-f", "json"]
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [(d["label"], d["minimum"], d["maximum"]) for d in doc["dims"]] == [
        ("H", 224, 255),
        ("W", 224, 255),
    ]
    assert doc["outputs"] == [[1, 1000]]
    from jsonschema import validate

    schema = json.loads(
        (Path(__file__).parents[1] / "netinspect/schema/sizes.schema.json").read_text()
    )
    validate(doc, schema)
    assert runner.invoke(app, ["sizes", "vgg16", "--input", "1x3x224x"]).exit_code == 2
    assert runner.invoke(app, ["sizes", "no_such_model"]).exit_code == 2
    assert runner.invoke(app, ["sizes", "vgg16", "--input", "7"]).exit_code == 2
    failed = runner.invoke(app, ["sizes", "vgg16", "--input", "1x3x224"])
    assert failed.exit_code == 3
    assert "the input [1,3,224] has no batch dimension" in failed.stdout
    assert "L (dim 2, given 224): no size works" in failed.stdout


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_up_to_must_be_positive(bad: str) -> None:
    assert CliRunner().invoke(app, ["sizes", "vgg16", "--up-to", bad]).exit_code == 2


def test_describe_irregular() -> None:
    d = DimSizes(2, "H", 8, 64, ((3, 4), (9, 9)), 3, 9, None, False, (), None, None)
    assert describe_dim(d) == "only 3–4, 9"


PAIR = f"{Path(__file__).parent / 'models' / 'sizes_pair.py'}:Pair"


def test_a_period_that_starts_above_the_dense_part_is_found() -> None:
    # RAFT's rule: multiples of 8 from 128 (nothing accepted in 1..64 to show the period).
    results = scan_dim(lambda n: ((n,),) if n >= 128 and n % 8 == 0 else None, 224, 448)
    assert infer_accepted(results, 448) == list(range(128, 449, 8))


def test_inputs_of_the_same_shape_are_varied_together() -> None:
    # Pair needs equal images, H and W divisible by 8, and an /8 map of at least 16 for its
    # 16-window pool: H, W ≥ 8·16 = 128, in steps of 8; output [1,4,⌊H/128⌋,⌊W/128⌋].
    report = probe_sizes(PAIR, ["1x3x224x224", "1x3x224x224"])
    assert report.varied_inputs == (0, 1)
    for d in report.dims:
        assert (d.minimum, d.maximum, d.step) == (128, None, 8)
        assert d.accepted == tuple((n, n) for n in range(128, 2 * 224 + 1, 8))
    assert report.summary == (
        f"{PAIR} (eval mode): H, W ≥ 128, in steps of 8 (128, 136, ...); "
        "the output shape depends on H, W"
    )
    # Only the first varied: the images must match, so only the given 224 works.
    first = probe_sizes(PAIR, ["1x3x224x224", "1x3x224x224"], vary="first")
    assert first.varied_inputs == (0,)
    assert [(d.minimum, d.maximum) for d in first.dims] == [(224, 224), (224, 224)]


def test_cli_vary_option() -> None:
    runner = CliRunner()
    args = ["sizes", PAIR, "-i", "1x3x224x224", "-i", "1x3x224x224", "-f", "json"]
    doc = json.loads(runner.invoke(app, [*args, "--vary", "first"]).output)
    assert doc["varied_inputs"] == [0]
    result = runner.invoke(app, args[:-2])
    assert result.exit_code == 0
    assert "inputs 0, 1 (same shape) varied together" in result.output
    if SIZES_SOLVED:
        assert "H, W ≥ 128, multiples of 8" in result.output
    else:  # probed, and labelled so: the same set, described from the probes
        assert "H, W ≥ 128, in steps of 8 (128, 136, ...)" in result.output
        assert f"probed 1 to 448: the symbolic conditions on H {PROBED}" in result.output


@pytest.mark.parametrize(
    ("forward", "ending"),
    [
        ("def forward(self, x):", "pass one, e.g. --input 1x3xHxW"),
        (
            "def forward(self, tokens, lengths=None):",
            "pass one per input of Net.forward(tokens, lengths), e.g. --input tokens=SHAPE",
        ),
    ],
)
def test_no_default_input_says_what_forward_takes(
    tmp_path: Path, forward: str, ending: str
) -> None:
    (tmp_path / "net.py").write_text(
        f"from torch import nn\n\nclass Net(nn.Module):\n    {forward}\n        return x\n"
    )
    target = f"{tmp_path / 'net.py'}:Net"
    result = CliRunner().invoke(app, ["sizes", target])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"netinspect: error: {target} has no default input: {ending}"
