"""Symbolic inspection and exact ``sizes`` on real models, against hand derivations.

Conv arithmetic: a conv or pool with kernel k, stride s, padding p maps n to
⌊(n + 2p − k)/s⌋ + 1.
- vgg16: 3×3 p1 convs keep n; each 2×2/2 pool halves it, ⌊n/2⌋; five pools: ⌊H/32⌋, and
  torch checks each pool's output ≥ 1, so H ≥ 32. The adaptive pool then fixes 7×7:
  512×7×7 = 25088 features for every H ≥ 32.
- resnet18: conv1 (7, s2, p3): ⌊(H − 1)/2⌋ + 1 = ⌈H/2⌉; the max-pool (3, s2, p1) and each
  stage's first 3×3/2 p1 conv do the same: ⌈H/4⌉, ⌈H/8⌉, ⌈H/16⌉, ⌈H/32⌉. On the hints'
  branch every stride-2 output is not 1 (size-1 maps take another branch): H ≥ 33.
- vgg16 without its adaptive pool: 512·⌊H/32⌋·⌊W/32⌋ = 25088 ⟺ ⌊H/32⌋·⌊W/32⌋ = 49: with
  W at 224, 224 ≤ H ≤ 255.
- vit_b_16 asserts H = W = 224 (its patch grid is fixed).
- PoolUp and TinyUNet: see tests/models/symbolic_models.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from netinspect_cli.main import app
from typer.testing import CliRunner

from netinspect.deserialize import report_from_dict
from netinspect.pipeline.run import inspect_model
from netinspect.pipeline.sizes import find_sizes
from netinspect.records import InspectionReport, LayerRecord
from netinspect.records import Progression as P
from netinspect.render import render_report
from netinspect.render.options import OutputFormat, RenderOptions
from netinspect.symexpr import describe_set, evaluate, readable, readable_shape
from tests.torch_features import (
    ATTENTION_BATCH_SYMBOLIC,
    NOT_SOLVED,
    PROBED,
    SIZES_SOLVED,
    SYMINT_BIT_LENGTH,
)

HERE = Path(__file__).parent
SYM = f"{HERE / 'models' / 'symbolic_models.py'}"
NO_AVGPOOL = f"{HERE / 'models' / 'sizes_models.py'}:vgg16_no_avgpool"
runner = CliRunner()

_cache: dict[tuple[str, str], InspectionReport] = {}


def report_of(target: str, spec: str = "Bx3xHxW") -> InspectionReport:
    key = (target, spec)
    if key not in _cache:
        _cache[key] = inspect_model(target, [spec], explain=True)
    return _cache[key]


def row(report: InspectionReport, name: str) -> LayerRecord:
    return next(r for r in report.layers if r.name == name)


def out(report: InspectionReport, name: str) -> str:
    shapes = row(report, name).output_shapes_symbolic
    assert shapes is not None
    return readable_shape(shapes[0])


def symbol(report: InspectionReport, name: str) -> Any:
    assert report.symbolic is not None
    return next(s for s in report.symbolic.symbols if s.name == name)


def assert_valid(report: InspectionReport, name: str, expected: tuple[P, ...]) -> None:
    """The exact valid set; where this torch's fake convolutions add 32-bit indexing
    conditions (tests/torch_features.py), the set is not claimed: "not solved", labelled."""
    s = symbol(report, name)
    if SIZES_SOLVED:
        assert s.valid == expected
    else:
        assert s.valid == () and s.valid_text.startswith(NOT_SOLVED), s


def assert_sizes_dim(d: Any, expected: tuple[P, ...]) -> None:
    """A ``sizes`` dim: solved exactly where torch allows; else probed, labelled so, and the
    probed set is the exact one inside the window."""
    assert d.method_detail is not None
    if SIZES_SOLVED:
        assert d.valid == expected
        assert d.method_detail.startswith("symbolic:")
        return
    assert d.valid is None and PROBED in d.method_detail, d
    (first,) = expected
    assert (d.minimum, d.step) == (first.start, first.step)
    assert d.maximum == first.stop or (first.stop is None and d.maximum is None)


# --- vgg16 -------------------------------------------------------------------------------------


def test_vgg16_formulas_and_valid_sizes() -> None:
    report = report_of("vgg16")
    assert out(report, "features.4") == "[B,64,⌊H/2⌋,⌊W/2⌋]"
    assert out(report, "features.30") == "[B,512,⌊H/32⌋,⌊W/32⌋]"
    assert out(report, "avgpool") == "[B,512,7,7]"
    assert out(report, "flatten") == "[B,25088]"
    # Every pool's formula is ⌊n/2⌋ of the one before, checked at many sizes.
    pools = [r for r in report.layers if r.type == "MaxPool2d"]
    for k, pool in enumerate(pools, start=1):
        assert pool.output_shapes_symbolic is not None
        for h in (32, 33, 63, 224, 255, 1000):
            assert evaluate(pool.output_shapes_symbolic[0][2], {"H": h, "W": h}) == h // 2**k
    assert_valid(report, "H", (P(32, 1, None),))
    assert_valid(report, "W", (P(32, 1, None),))
    sym = report.symbolic
    assert sym is not None
    binding = [
        (c.expression, row_name(report, c.layer_index)) for c in sym.conditions if c.is_binding
    ]
    expected = [("H//32 >= 1", "features.30"), ("W//32 >= 1", "features.30")]
    if SIZES_SOLVED:
        assert binding == expected
    else:  # the 32-bit indexing conditions are binding too, until solved
        assert set(expected) <= set(binding)
    sources = {c.source for c in sym.conditions}
    if SIZES_SOLVED:
        assert sources == {"torchvision/models/vgg.py:66"}
    else:  # the indexing conditions of the adaptive pool's line too
        assert sources <= {"torchvision/models/vgg.py:66", "torchvision/models/vgg.py:67"}
    assert sym.flatten is not None
    assert (sym.flatten.features, sym.flatten.depends_on) == ("25088", ())
    # The concrete numbers are those of the hints: B = 2, H = W = 224.
    assert report.inputs[0].shape == (2, 3, 224, 224)
    assert report.inputs[0].shape_symbolic == ("B", "3", "H", "W")
    assert report.outputs == ((2, 1000),) and sym.outputs == (("B", "1000"),)


def row_name(report: InspectionReport, index: int | None) -> str:
    return next(r.name for r in report.layers if r.index == index)


def test_vgg16_table_shows_formulas_and_the_flatten_rule() -> None:
    # The layer table of a plain run (with --explain the arithmetic table takes its place).
    plain = dataclasses.replace(report_of("vgg16"), explanations=None)
    text = render_report(plain, OutputFormat.table, RenderOptions(width=120))
    assert "[B,512,⌊H/32⌋,⌊W/32⌋]" in text
    sizes = "≥ 32" if SIZES_SOLVED else NOT_SOLVED
    assert f"[B,512,7,7] -> [B,25088] = 512×7×7 = 25,088 for every H, W {sizes}" in text
    assert "⌊H/32⌋ ≥ 1  at features.30 (MaxPool2d), torchvision/models/vgg.py:66" in text
    assert f"B ≥ 2; H, W {sizes}" in text
    assert "FLOPs" in text and "at B=2, H=224, W=224" in text


def test_vgg16_explain_has_exact_strides() -> None:
    report = report_of("vgg16")
    assert report.explanations is not None
    by_row = {row_name(report, e.layer_index): e for e in report.explanations}
    # Fixed windows: the stride and receptive field are the same for every H, W.
    assert by_row["features.30"].cumulative_stride_symbolic == ("32", "32")
    assert by_row["features.30"].receptive_field_symbolic == ("212", "212")
    assert (
        by_row["features.4"].arithmetic[-1]
        == "H: ⌊(H + 2·0 − 1·(2 − 1) − 1)/2⌋ + 1 = ⌊H/2⌋ (W alike)"
    )
    # The adaptive pool's stride is its input over its output: 32·⌊H/32⌋/7.
    pool = by_row["avgpool"]
    assert pool.cumulative_stride_symbolic == ("32·⌊H/32⌋/7 (W alike)",)
    assert pool.receptive_field_symbolic == ("212 (hint)", "212 (hint)")
    # It repeats values when ⌊H/32⌋ < 7, i.e. for the valid H below 224 (said only where
    # the valid set is solved).
    assert pool.warnings == (
        ("upsamples (repeats values) exactly when ⌊H/32⌋ < 7: H 32 to 223 (W alike)",)
        if SIZES_SOLVED
        else ()
    )


# --- resnet18 ----------------------------------------------------------------------------------


def test_resnet18_conv_arithmetic() -> None:
    report = report_of("resnet18")
    stages = {"conv1": 2, "maxpool": 4, "layer2.0.conv1": 8, "layer3.0.conv1": 16}
    stages["layer4.0.conv1"] = 32
    for name, factor in stages.items():
        shape = row(report, name).output_shapes_symbolic
        assert shape is not None
        assert readable(shape[0][2]) == f"⌈H/{factor}⌉"
        for h in (33, 34, 100, 223, 224, 225, 511):
            assert evaluate(shape[0][2], {"H": h, "W": h}) == math.ceil(h / factor)
    assert out(report, "avgpool") == "[B,512,1,1]"
    # Along the hints' branch no stride-2 output is 1: ⌈H/32⌉ ≠ 1 ⟺ H ≥ 33.
    assert_valid(report, "H", (P(33, 1, None),))
    assert report.symbolic is not None
    assert any("≠ condition" in n for n in report.symbolic.notes)


# --- vgg16 without its adaptive pool -----------------------------------------------------------


def test_vgg16_without_avgpool_flatten_formula() -> None:
    report = report_of(NO_AVGPOOL)
    sym = report.symbolic
    assert sym is not None and sym.flatten is not None
    assert sym.flatten.features == "512*(H//32)*(W//32)"
    assert sym.flatten.consumer_condition == "(H//32)*(W//32) == 49"
    assert dict(sym.flatten.consumer_valid) == {"H": "224 to 255", "W": "224 to 255"}
    assert_valid(report, "H", (P(224, 1, 255),))
    text = render_report(report, OutputFormat.table, RenderOptions(width=140))
    assert "= 512×⌊H/32⌋×⌊W/32⌋ (25,088 at H=224, W=224)" in text
    assert "matches exactly when ⌊H/32⌋·⌊W/32⌋ = 49 (H 224 to 255, W 224 to 255" in text


# --- vit_b_16 ----------------------------------------------------------------------------------


@pytest.mark.slow  # about 6 s quiet: vit's symbolic pass runs every layer symbolically
def test_vit_b_16_pins_224() -> None:
    report = report_of("vit_b_16")
    for name in ("H", "W"):
        s = symbol(report, name)
        assert s.valid == (P(224, 1, 224),) and s.valid_text == "exactly 224"
        assert s.specialised is not None and "fixed" in s.specialised
    sym = report.symbolic
    assert sym is not None
    pins = [c for c in sym.conditions if c.expression in ("H == 224", "W == 224")]
    assert len(pins) == 2
    assert all("vision_transformer.py" in (c.source or "") for c in pins)
    if ATTENTION_BATCH_SYMBOLIC:
        assert out(report, "conv_proj") == "[B,768,14,14]"
        assert sym.outputs == (("B", "1000"),)
    else:  # this torch's attention fixes the batch to its hint, and the report says so
        b = symbol(report, "B")
        assert b.valid == (P(2, 1, 2),) and "torch fixed B to 2" in b.specialised
        assert out(report, "conv_proj") == "[2,768,14,14]"


# --- an adaptive pool that upsamples, and a U-Net with a step ---------------------------------


def test_adaptive_pool_that_upsamples() -> None:
    report = report_of(f"{SYM}:PoolUp")
    assert out(report, "conv") == "[B,8,⌊(H − 3)/2⌋ + 1,⌊(W − 3)/2⌋ + 1]"
    assert out(report, "pool") == "[B,8,5,5]"
    assert_valid(report, "H", (P(3, 1, None),))
    assert report.explanations is not None
    pool = next(e for e in report.explanations if row_name(report, e.layer_index) == "pool")
    # ⌊(H − 3)/2⌋ + 1 < 5 ⟺ H ≤ 10; with H ≥ 3: 3 to 10.
    assert pool.warnings == (
        ("upsamples (repeats values) exactly when ⌊(H − 3)/2⌋ + 1 < 5: H 3 to 10 (W alike)",)
        if SIZES_SOLVED
        else ()
    )
    text = render_report(report, OutputFormat.table, RenderOptions(width=120))
    sizes = "≥ 3" if SIZES_SOLVED else NOT_SOLVED
    assert f"8×5×5 = 200 for every H, W {sizes}" in text


def test_unet_valid_sizes_have_a_step() -> None:
    report = report_of(f"{SYM}:TinyUNet")
    assert out(report, "down1") == "[B,4,⌈H/2⌉,⌈W/2⌉]"
    assert out(report, "down2") == "[B,4,⌈H/4⌉,⌈W/4⌉]"
    assert_valid(report, "H", (P(4, 4, None),))
    assert report.symbolic is not None
    binding = {readable(c.expression) for c in report.symbolic.conditions if c.is_binding}
    assert {"2·⌈H/4⌉ = ⌈H/2⌉", "2·⌈H/2⌉ = H"} <= binding


def test_unet_symbolic_set_matches_concrete_passes() -> None:
    # Independent of the solver: run the model at every size from 1 to 40.
    from tests.models.symbolic_models import TinyUNet

    model = TinyUNet().eval()
    accepted = []
    for h in range(1, 41):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, h, 8))
            accepted.append(h)
        except RuntimeError:
            pass
    assert accepted == list(range(4, 41, 4))


# --- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("vgg16", "≥ 32"),
        (NO_AVGPOOL, "224 to 255"),
        (f"{SYM}:PoolUp", "≥ 3"),
        (f"{SYM}:TinyUNet", "≥ 4, multiples of 4"),
    ],
)
def test_sizes_are_exact_and_symbolic(target: str, expected: str) -> None:
    report = find_sizes(target, "1x3xHxW")
    assert report.method == "symbolic" and report.fallback is None
    assert [d.label for d in report.dims] == ["H", "W"]
    for d in report.dims:
        assert d.method_detail is not None and d.method_detail.startswith("symbolic:")
        if SIZES_SOLVED:
            assert d.valid is not None and describe_set(d.valid) == expected
        else:  # probed after the symbolic pass, and labelled so: the same set in the window
            assert d.valid is None and PROBED in d.method_detail
            assert describe_set((P(d.minimum, d.step, d.maximum),)) == expected


@pytest.mark.slow  # 64 concrete passes of resnet18 besides the symbolic one
def test_sizes_resnet18_covers_the_size_one_branch() -> None:
    # The main symbolic pass covers H ≥ 33; sizes 1 to 32 take torch's size-1 branches and
    # are explored (more passes, the last few sizes one by one): resnet18 accepts every H ≥ 1
    # in eval mode.
    report = find_sizes("resnet18", "1x3xHxW")
    h = report.dims[0]
    assert_sizes_dim(h, (P(1, 1, None),))
    assert h.method_detail is not None and h.method_detail.startswith("symbolic:")
    assert "concrete:" in h.method_detail


@pytest.mark.slow
def test_sizes_vit_is_exactly_224() -> None:
    report = find_sizes("vit_b_16", "1x3xHxW")
    assert [d.valid for d in report.dims] == [(P(224, 1, 224),), (P(224, 1, 224),)]
    assert report.dims[0].below_minimum is not None


def test_sizes_probe_a_dim_torch_keeps_fixing() -> None:
    report = find_sizes(f"{SYM}:IntOnly", "1x3xHxW")
    h, w = report.dims
    if not SYMINT_BIT_LENGTH:  # the symbolic pass cannot run the model at all: labelled
        assert report.method == "probing" and report.fallback is not None
        assert "symbolic pass could not run" in report.fallback and "bit_length" in report.fallback
        assert [(d.minimum, d.maximum, d.step) for d in report.dims] == [(3, None, 1)] * 2
        return
    assert_sizes_dim(h, (P(3, 1, None),))
    # W is used as a Python int: every symbolic pass fixes it, so W is probed.
    assert w.valid is None and (w.minimum, w.maximum, w.step) == (3, None, 1)
    assert w.method_detail is not None and "probed 1 to 448" in w.method_detail


def test_sizes_method_probe_is_the_earlier_method() -> None:
    report = find_sizes(f"{SYM}:PoolUp", "1x3xHxW", method="probe")
    assert report.method == "probing"
    assert [(d.minimum, d.maximum, d.step) for d in report.dims] == [(3, None, 1), (3, None, 1)]


# --- CLI, JSON, Python API ---------------------------------------------------------------------


def test_cli_table_rows_show_formulas() -> None:
    # The table's shape columns are the formulas, not the hint's concrete sizes.
    result = runner.invoke(app, ["inspect", "vgg16", "--input", "Bx3xHxW"], env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    rows = {
        words[1]: words
        for words in map(str.split, result.stdout.splitlines())
        if len(words) > 2 and words[0].isdigit()
    }
    assert rows["30"][2:5] == ["MaxPool2d", "[B,512,⌊H/16⌋,⌊W/16⌋]", "[B,512,⌊H/32⌋,⌊W/32⌋]"]
    assert rows["avgpool"][3:5] == ["[B,512,⌊H/32⌋,⌊W/32⌋]", "[B,512,7,7]"]
    assert "[2," not in result.stdout.split("Flatten point")[0]


def test_cli_inspect_json_with_hints(report_validator: Any) -> None:
    result = runner.invoke(
        app, ["inspect", "vgg16", "--input", "Bx3xHxW", "--hint", "H=320", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    report_validator.validate(doc)
    assert doc["inputs"][0]["shape"] == [2, 3, 320, 224]
    assert doc["inputs"][0]["shape_symbolic"] == ["B", "3", "H", "W"]
    assert doc["symbolic"]["hints"] == {"B": 2, "H": 320, "W": 224}
    assert doc["symbolic"]["symbols"][1]["hint_source"] == "--hint"
    flat = next(x for x in doc["layers"] if x["name"] == "flatten")
    assert flat["input_shapes_symbolic"] == [["B", "512", "7", "7"]]
    assert flat["input_shapes"] == [[2, 512, 7, 7]]
    assert report_from_dict(doc).to_dict() == doc


def test_cli_sizes_named_dims(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sizes", "vgg16", "--input", "1x3xHxW", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["method"] == "symbolic"
    if SIZES_SOLVED:
        assert doc["dims"][0]["valid"] == [{"start": 32, "step": 1, "stop": None}]
    else:
        h = doc["dims"][0]
        assert h["valid"] is None and PROBED in h["method_detail"]
        assert (h["minimum"], h["maximum"], h["step"]) == (32, None, 1)
    import jsonschema

    from netinspect.schema import load_schema

    jsonschema.validate(doc, load_schema("sizes"))


def test_cli_bad_hints_are_one_line_usage_errors() -> None:
    for args, fragment in [
        (["inspect", "vgg16", "-i", "1x3xHxW", "--hint", "Q=3"], "no --input dim is named Q"),
        (["inspect", "vgg16", "--hint", "H=3"], "--hint needs an --input with named dims"),
        (["inspect", "vgg16", "-i", "1x3xHxW", "--hint", "H=x"], "malformed --hint"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_python_api_with_hints() -> None:
    report = inspect_model("vgg16", inputs=["Bx3xHxW"], hints={"H": 256})
    assert report.inputs[0].shape == (2, 3, 256, 224)
    assert report.symbolic is not None
    assert row(report, "features.30").output_shapes == ((2, 512, 8, 7),)


def test_symbolic_pass_follows_the_device_policy_to_cpu() -> None:
    # nonzero on the model's own scores sends the pass to cpu; the symbolic pass then runs
    # beside the cpu weights (it used to put its inputs on meta: a device mismatch) and the
    # value-dependent size is an unbacked symbol, marked as data-dependent.
    report = inspect_model("tests/models/policy_models.py:NonzeroOnWeights", ["Lx8"])
    assert report.device == "cpu"
    assert report.symbolic is not None and report.symbolic.error is None
    head = next(r for r in report.layers if r.name == "head")
    assert head.input_shapes_symbolic == (("u0", "8"),)
    assert head.data_dependent
    text = render_report(report, OutputFormat.table, RenderOptions(width=120))
    assert "~[u0,4]" in text and "Output                ~[u0, 4]" in text
