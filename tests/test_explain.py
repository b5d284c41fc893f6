"""--explain: per-row shape arithmetic, cumulative stride and receptive field.

Receptive fields are checked against a hand calculation: r_out = r_in + (k − 1)·j_in,
j_out = j_in·s, starting from r = j = 1 at the input.
"""

from __future__ import annotations

import json
import re

import netinspect_cli.main  # noqa: F401  (registers the commands)
import pytest
import torch
from netinspect_cli.app import app
from torch import nn
from typer.testing import CliRunner

from netinspect.analysis.explain import explain_report
from netinspect.analysis.layers import fold_to_depth
from netinspect.deserialize import report_from_dict
from netinspect.pipeline.run import inspect_model
from netinspect.records import InspectionReport, ShapeExplanation


def by_name(report: InspectionReport) -> dict[str, ShapeExplanation]:
    assert report.explanations is not None
    names = {layer.index: layer.name for layer in report.layers}
    return {names[e.layer_index]: e for e in report.explanations}


def vgg16_hand() -> dict[str, tuple[int, int]]:
    """(receptive field, stride) after each vgg16 conv and pool, by the recurrence."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    r, j, out = 1, 1, {}
    for i, v in enumerate(cfg):
        if v == "M":
            r, j = r + (2 - 1) * j, j * 2
        else:
            r = r + (3 - 1) * j
        # Each conv is followed by a ReLU, so features.N indices skip one per conv.
        out[i] = (r, j)
    names, index = {}, 0
    for i, v in enumerate(cfg):
        names[f"features.{index}"] = out[i]
        index += 1 if v == "M" else 2
    return names


def test_vgg16_receptive_fields_match_hand_calculation() -> None:
    report = inspect_model("vgg16", device="meta", explain=True)
    found = by_name(report)
    hand = vgg16_hand()
    assert hand["features.30"] == (212, 32)
    for name, (rf, stride) in hand.items():
        assert found[name].receptive_field == (rf, rf), name
        assert found[name].cumulative_stride == (stride, stride), name
    assert found["features.0"].arithmetic == (
        "channels 3 → 64",
        "H, W: ⌊(224 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 224",
    )
    assert found["features.30"].arithmetic == ("H, W: ⌊(14 + 2·0 − 1·(2 − 1) − 1)/2⌋ + 1 = 7",)
    assert found["flatten"].arithmetic == ("512×7×7 = 25088",)
    assert found["classifier.0"].arithmetic == ("last dim: in_features 25088 → out_features 4096",)
    assert found["avgpool"].warnings == ()


def test_resnet18_receptive_fields_match_hand_calculation() -> None:
    found = by_name(inspect_model("resnet18", device="meta", explain=True))
    # conv1 7x7/2: r 7, j 2; maxpool 3/2: 7 + 2·2 = 11, j 4; each 3x3 conv adds 2·j.
    assert found["conv1"].receptive_field == (7, 7)
    assert found["maxpool"].receptive_field == (11, 11)
    r = 11 + 4 * (2 * 4)  # layer1: four 3x3 convs at j = 4
    assert found["layer1.1.conv2"].receptive_field == (r, r) == (43, 43)
    j = 4
    for stage in ("layer2", "layer3", "layer4"):
        r += 2 * j  # the stride-2 conv sees 3 pixels at the old spacing
        j *= 2
        r += 3 * 2 * j  # three more 3x3 convs at the new spacing
        assert found[f"{stage}.1.conv2"].receptive_field == (r, r), stage
        assert found[f"{stage}.1.conv2"].cumulative_stride == (j, j), stage
    assert r == 435 and j == 32
    # The 1x1 projection only changes the spacing: it sees what the stage input saw.
    assert found["layer2.0.downsample.0"].receptive_field == (43, 43)
    assert found["layer2.0.downsample.0"].cumulative_stride == (8, 8)
    # The global pool's single window covers all 7 positions: 435 + 6·32.
    assert found["avgpool"].receptive_field == (627, 627)
    assert found["avgpool"].arithmetic == ("H, W: 7 → 1: one window over all 7",)


def test_vgg16_on_32x32_flags_adaptive_upsampling() -> None:
    found = by_name(inspect_model("vgg16", inputs=["1x3x32x32"], device="meta", explain=True))
    assert found["avgpool"].warnings == ("upsampling: output 7×7 from a 1×1 input repeats values",)
    assert found["avgpool"].arithmetic == (
        "H, W: 1 → 7: windows [0,1) [0,1) [0,1) [0,1) [0,1) [0,1) [0,1)",
    )


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ceil = nn.MaxPool2d(2, ceil_mode=True)
        self.dropped = nn.MaxPool2d(3, stride=3, padding=1, ceil_mode=True)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.upsample = nn.Upsample(scale_factor=2)
        self.avg = nn.AdaptiveAvgPool2d((3, 5))
        self.conv1d = nn.Conv1d(4, 4, 5, stride=2, dilation=2)
        self.conv3d = nn.Conv3d(1, 2, (3, 1, 1), stride=(1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.ceil(x)  # 7 -> 4
        b = self.dropped(x)  # 5 -> 2 (last window dropped)
        c = self.up(x[:, :, :4, :4])
        d = self.upsample(c)
        e = self.avg(d)
        f = self.conv1d(e.flatten(2)[:, :4])
        g = self.conv3d(x[:, :1].unsqueeze(2).expand(-1, -1, 5, -1, -1))
        h = nn.functional.interpolate(x, scale_factor=3)
        return a.sum() + b.sum() + f.sum() + g.sum() + h.sum()


def test_formulas_for_each_layer_type_match_torch() -> None:
    report = inspect_model(Mixed().to("meta"), inputs=["1x8x7x5"], device="meta", explain=True)
    found = by_name(report)
    rows = {layer.name: layer for layer in report.layers}
    # ceil: H ⌈(7 − 2)/2⌉ + 1 = 4, W ⌈(5 − 2)/2⌉ + 1 = 3.
    assert found["ceil"].arithmetic[:2] == (
        "H: ⌈(7 + 2·0 − 1·(2 − 1) − 1)/2⌉ + 1 = 4",
        "W: ⌈(5 + 2·0 − 1·(2 − 1) − 1)/2⌉ + 1 = 3",
    )
    # W: ⌈(5 + 2 − 3)/3⌉ + 1 = 3, but (3 − 1)·3 = 6 ≥ 5 + 1: the last window is dropped.
    assert found["dropped"].arithmetic[1] == (
        "W: ⌈(5 + 2·1 − 1·(3 − 1) − 1)/3⌉ + 1 − 1 (the last window would start in the padding) = 2"
    )
    assert rows["dropped"].output_shapes[0][2:] == (3, 2)
    # (4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 8
    assert found["up"].arithmetic[1] == "H, W: (4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 8"
    assert found["upsample"].arithmetic[0] == "H, W: ⌊8 × 2⌋ = 16"
    assert found["avg"].arithmetic == (
        "H: 16 → 3: windows [0,6) [5,11) [10,16)",
        "W: 16 → 5: windows [0,4) [3,7) [6,10) [9,13) [12,16)",
    )
    # L: ⌊(15 + 0 − 2·4 − 1)/2⌋ + 1 = 4
    assert found["conv1d"].arithmetic[1] == "L: ⌊(15 + 2·0 − 2·(5 − 1) − 1)/2⌋ + 1 = 4"
    assert found["conv3d"].arithmetic[1:] == (
        "D: ⌊(5 + 2·0 − 1·(3 − 1) − 1)/1⌋ + 1 = 3",
        "H: ⌊(7 + 2·0 − 1·(1 − 1) − 1)/2⌋ + 1 = 4",
        "W: ⌊(5 + 2·0 − 1·(1 − 1) − 1)/2⌋ + 1 = 3",
    )
    # interpolate's scale_factor is recorded: ⌊7 × 3⌋ = 21, ⌊5 × 3⌋ = 15.
    assert found["interpolate"].arithmetic[:2] == ("H: ⌊7 × 3⌋ = 21", "W: ⌊5 × 3⌋ = 15")
    # Invariant: every "= N" result is the size torch produced.
    for e in report.explanations or ():
        row = report.layers[e.layer_index]
        for line in e.arithmetic:
            m = re.match(r"(H|W|L|D)(?:, W)?: .* = (\d+)$", line)
            if m:
                dim = {"L": -1, "D": -3, "H": -2, "W": -1}[m.group(1)]
                assert row.output_shapes[0][dim] == int(m.group(2)), (row.name, line)


def test_json_has_explain_only_when_asked_and_round_trips() -> None:
    runner = CliRunner()
    plain = json.loads(runner.invoke(app, ["inspect", "resnet18", "-f", "json"]).stdout)
    assert "explain" not in plain
    result = runner.invoke(app, ["inspect", "resnet18", "-f", "json", "--explain"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    from jsonschema import validate

    from netinspect.schema import report_schema

    validate(doc, report_schema())
    report = inspect_model("resnet18", device="meta", explain=True)
    doc.pop("environment"), doc.pop("netinspect_version")
    expected = report.to_dict()
    expected.pop("environment"), expected.pop("netinspect_version")
    assert doc == expected
    assert report_from_dict(report.to_dict()).to_dict() == report.to_dict()


def test_table_markdown_and_depth() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["inspect", "vgg16", "--explain"]).stdout
    assert "Shape arithmetic" in table
    assert "⌊(14 + 2·0 − 1·(2 − 1) − 1)/2⌋ + 1 = 7" in table
    md = runner.invoke(
        app, ["inspect", "vgg16", "--input", "1x3x32x32", "--explain", "-f", "markdown"]
    ).stdout
    assert "**Shape arithmetic**" in md
    assert "⚠ upsampling: output 7×7 from a 1×1 input repeats values" in md
    # Folding keeps explanations only for the rows still shown, computed on the full pass.
    folded = fold_to_depth(explain_report(inspect_model("resnet18", device="meta")), 1)
    shown = {layer.index for layer in folded.layers}
    assert folded.explanations is not None
    assert {e.layer_index for e in folded.explanations} <= shown
    assert by_name(folded)["avgpool"].receptive_field == (627, 627)


def test_failed_pass_is_explained_up_to_the_failure() -> None:
    result = CliRunner().invoke(
        app, ["inspect", "alexnet", "--input", "1x3x16x16", "--explain", "-f", "json"]
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    first = doc["explain"][0]
    # conv 11x11/4, p 2 on 16: ⌊(16 + 4 − 10 − 1)/4⌋ + 1 = 3.
    assert first["arithmetic"][1] == "H, W: ⌊(16 + 2·2 − 1·(11 − 1) − 1)/4⌋ + 1 = 3"
    assert first["receptive_field"] == [11, 11]


def test_collapse_and_depth_keep_the_receptive_field_growth() -> None:
    from netinspect.analysis.layers import collapse_repeats

    full = explain_report(inspect_model("resnet18", device="meta"))
    # By hand: maxpool leaves r 11, j 4; layer1's two blocks are four 3x3 convs at j = 4:
    # 11 + 4·2·4 = 43, stride unchanged.
    collapsed = collapse_repeats(full)
    run = by_name(collapsed)["layer1.0–1"]
    assert run.receptive_field == (43, 43) and run.cumulative_stride == (4, 4)
    assert run.arithmetic == ("RF 11 → 43, stride 4 → 4 (4 explained rows hidden here)",)
    # layer2 is not a run (its first block downsamples): its rows stay, starting at 43 + 2·4.
    assert by_name(collapsed)["layer2.0.conv1"].receptive_field == (51, 51)
    # Folding to depth 1: each stage row shows the RF and stride at its end (see the
    # recurrence in test_resnet18_receptive_fields_match_hand_calculation).
    folded = by_name(fold_to_depth(full, 1))
    expected = {"layer1": (11, 43, 4, 4), "layer2": (43, 99, 4, 8), "layer3": (99, 211, 8, 16)}
    expected["layer4"] = (211, 435, 16, 32)
    for stage, (r_in, r_out, j_in, j_out) in expected.items():
        assert folded[stage].receptive_field == (r_out, r_out), stage
        assert folded[stage].cumulative_stride == (j_out, j_out), stage
        assert (
            folded[stage]
            .arithmetic[-1]
            .startswith(f"RF {r_in} → {r_out}, stride {j_in} → {j_out} (")
        ), stage
    # The table shows the collapsed run's row with its RF.
    table = CliRunner().invoke(app, ["inspect", "resnet18", "--explain"]).stdout
    assert re.search(r"layer1\.0–1 \(BasicBlock\)\s+RF 11 → 43, stride 4 → 4", table)


class Resizes(nn.Module):
    """conv 3×3 on 5×5 → 3×3; adaptive pool up to 7×7; conv 3×3 → 5×5; interpolate ×0.5."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)
        self.pool = nn.AdaptiveAvgPool2d(7)
        self.conv2 = nn.Conv2d(3, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.pool(self.conv(x)))
        return torch.nn.functional.interpolate(x, scale_factor=0.5)


def test_fractional_strides_and_recorded_scale_factor() -> None:
    report = inspect_model(Resizes(), inputs=["1x3x5x5"], device="meta", explain=True)
    found = by_name(report)
    # conv: r 3, j 1. pool 3 → 7: windows [⌊3i/7⌋, ⌈3(i + 1)/7⌉) are at most 2 wide, spacing 3/7:
    # r 3 + (2 − 1)·1 = 4, j 3/7. conv2: r 4 + 2·3/7 = 34/7, j 3/7.
    assert found["pool"].receptive_field == (4, 4)
    assert found["conv2"].receptive_field == pytest.approx((34 / 7, 34 / 7))
    assert found["conv2"].cumulative_stride == pytest.approx((3 / 7, 3 / 7))
    # interpolate(scale_factor=0.5): ⌊5 × 0.5⌋ = 2; output pixel x samples input x / 0.5, so
    # the spacing doubles: 3/7 · 2 = 6/7 (not 3/7 · 5/2 from the sizes).
    interp = found["interpolate"]
    assert interp.arithmetic[0] == "H, W: ⌊5 × 0.5⌋ = 2"
    assert interp.cumulative_stride == pytest.approx((6 / 7, 6 / 7))
    table = (
        CliRunner()
        .invoke(app, ["inspect", f"{__file__}:Resizes", "--input", "1x3x5x5", "--explain"])
        .stdout
    )
    row = next(line for line in table.splitlines() if "conv2 (Conv2d)" in line)
    assert row.split()[-2:] == ["3/7", "34/7"]


def test_explain_replaces_the_layer_table_and_spells_out_pool_kernels() -> None:
    text = CliRunner().invoke(app, ["inspect", "vgg11", "--explain"]).stdout
    assert "Shape arithmetic" in text or "Arithmetic" in text
    # The layer table (its "Input shape" header) is not printed again before the arithmetic.
    assert "Input shape" not in text
    assert text.startswith("vgg11 (VGG)")
    # MaxPool2d(2) on 14: ⌊(14 + 2·0 − 1·(2 − 1) − 1)/2⌋ + 1 = 7, written like a conv's formula.
    assert "⌊(14 + 2·0 − 1·(2 − 1) − 1)/2⌋ + 1 = 7" in text
    assert "Total params" in text  # the totals still follow
