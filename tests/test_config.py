"""YAML configs: every shipped example, the combinators, the API and CLI entry points, and a
round-trip property over random Sequential configs.

Expected counts are derived here from the layer formulas (conv: k*k*in*out + out, linear:
in*out + out, batch norm: 2*c), never read back from netinspect's own output.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netinspect_cli.app import app
from typer.testing import CliRunner

import netinspect
from netinspect.errors import ForwardFailed
from tests.conftest import write_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def linear(fin: int, fout: int, bias: bool = True) -> int:
    return fin * fout + (fout if bias else 0)


def vgg16_features() -> int:
    cfg = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    total, cin = 0, 3
    for c in cfg:
        total += conv(cin, c, 3)
        cin = c
    return total


def row(report: netinspect.InspectionReport, name: str):  # type: ignore[no-untyped-def]
    matches = [r for r in report.layers if r.name == name]
    assert matches, f"no row {name!r}"
    return matches[0]


def assert_rows_sum_to_total(report: netinspect.InspectionReport) -> None:
    assert (
        sum(r.params for r in report.layers) + report.totals.uncalled_params == report.totals.params
    )


def inspect_config(name: str, **kwargs: object) -> netinspect.InspectionReport:
    return netinspect.inspect_model(str(CONFIGS / name), **kwargs)  # type: ignore[arg-type]


# --- the shipped examples ---------------------------------------------------------------


def test_vgg16() -> None:
    report = inspect_config("vgg16.yaml")
    classifier = linear(512 * 7 * 7, 4096) + linear(4096, 4096) + linear(4096, 1000)
    assert report.totals.params == vgg16_features() + classifier == 138_357_544
    assert report.model.source == "config" and report.model.name == "vgg16"
    assert report.device == "meta"
    assert report.outputs == ((1, 1000),)
    assert report.flatten is not None
    assert (report.flatten.input_shape, report.flatten.output_shape) == ((1, 512, 7, 7), (1, 25088))
    assert_rows_sum_to_total(report)


def test_vgg16_keypoints_head_replacement() -> None:
    report = inspect_config("vgg16_keypoints.yaml")
    head = conv(512, 512, 3) + linear(2048, 512) + linear(512, 136)
    assert report.totals.params == vgg16_features() + head == 18_193_352
    # 224 -> five max-pools -> 7; 3x3 conv without padding -> 5; max-pool 2 -> 2; 512*2*2.
    assert row(report, "avgpool.0").output_shapes == ((1, 512, 5, 5),)
    assert row(report, "avgpool.1").output_shapes == ((1, 512, 2, 2),)
    flat = report.flatten
    assert flat is not None
    assert (flat.name, flat.type, flat.kind) == ("avgpool.2", "Flatten", "module")
    assert (flat.input_shape, flat.output_shape) == ((1, 512, 2, 2), (1, 2048))
    assert flat.consumer is not None
    assert flat.consumer.name == "classifier.0"
    assert flat.consumer.expected_in_features == 2048 and flat.consumer.matches is True
    assert [r.type for r in report.layers if r.parent == "classifier"] == [
        "Linear", "ReLU", "Dropout", "Linear", "Sigmoid",
    ]  # fmt: skip
    assert report.outputs == ((1, 136),)
    assert_rows_sum_to_total(report)


def test_alexnet_3class() -> None:
    report = inspect_config("alexnet_3class.yaml")
    features = (
        conv(3, 64, 11)
        + conv(64, 192, 5)
        + conv(192, 384, 3)
        + conv(384, 256, 3)
        + conv(256, 256, 3)
    )
    classifier = linear(256 * 6 * 6, 4096) + linear(4096, 4096) + linear(4096, 3)
    assert report.totals.params == features + classifier == 57_016_131
    assert report.outputs == ((1, 3),)
    assert report.model.name == "alexnet_3class"
    assert_rows_sum_to_total(report)


def resnet18_cifar_params(num_classes: int = 10, projections: bool = True) -> int:
    def bn(c: int) -> int:
        return 2 * c

    total = conv(3, 64, 3, bias=False) + bn(64)
    cin = 64
    for cout in (64, 128, 256, 512):
        for block in range(2):
            first = cin if block == 0 else cout
            total += (
                conv(first, cout, 3, bias=False)
                + bn(cout)
                + conv(cout, cout, 3, bias=False)
                + bn(cout)
            )
            if block == 0 and first != cout and projections:
                total += conv(first, cout, 1, bias=False) + bn(cout)
        cin = cout
    return total + linear(512, num_classes)


def test_resnet18_cifar() -> None:
    report = inspect_config("resnet18_cifar.yaml")
    assert report.totals.params == resnet18_cifar_params()
    assert [i.shape for i in report.inputs] == [(1, 3, 32, 32)]
    assert report.outputs == ((1, 10),)
    # Each stage halves the resolution (stride 2) and doubles the channels, from 64 at 32x32.
    for stage, (c, hw) in enumerate([(64, 32), (128, 16), (256, 8), (512, 4)], start=1):
        assert row(report, f"layer{stage}").output_shapes == ((1, c, hw, hw),)
    # The residual adds run inside our Residual module, so they are rows: eight blocks.
    adds = [
        r
        for r in report.layers
        if r.kind == "function" and r.parent and r.type.endswith(("add", "__add__"))
    ]
    assert len(adds) == 8
    assert all(r.input_shapes[0] == r.input_shapes[1] for r in adds)
    assert report.error is None
    assert_rows_sum_to_total(report)


def test_resnet18_cifar_broken_fails_at_layer2_add() -> None:
    with pytest.raises(ForwardFailed) as info:
        inspect_config("resnet18_cifar_broken.yaml")
    report = info.value.report
    error = report.error
    assert error is not None and error.layer_index is not None
    failed = report.layers[error.layer_index]
    assert failed.kind == "function" and failed.parent == "layer2.0"
    assert failed.type.endswith(("add", "__add__"))
    # body: 64 -> 128 channels at stride 2; identity shortcut: the block's own input.
    assert failed.input_shapes == ((1, 128, 16, 16), (1, 64, 32, 32))
    assert error.name == failed.name
    # layer1's identity shortcuts fit, so it ran to the end.
    assert row(report, "layer1").output_shapes == ((1, 64, 32, 32),)


def test_mlp() -> None:
    report = inspect_config("mlp.yaml")
    assert report.totals.params == linear(784, 256) + linear(256, 128) + linear(128, 10) == 235_146
    assert report.outputs == ((1, 10),)
    assert [r.type for r in report.layers if r.depth == 1] == [
        "Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear",
    ]  # fmt: skip
    assert report.flatten is not None and report.flatten.name == "0"


def test_large_decoder_on_meta() -> None:
    report = inspect_config("decoder_59b.yaml")
    vocab, d, ff, n_layers = 32_000, 8192, 28_672, 80
    attention = linear(d, 3 * d) + linear(d, d)  # fused q/k/v in-projection + out-projection
    block = attention + linear(d, ff) + linear(ff, d) + 2 * (2 * d)  # + two LayerNorms
    expected = vocab * d + n_layers * block + 2 * d + linear(d, vocab, bias=False)
    assert report.totals.params == expected
    assert expected >= 50_000_000_000
    assert report.device == "meta"
    assert report.outputs == ((1, 128, vocab),)
    assert len([r for r in report.layers if r.type == "TransformerEncoderLayer"]) == n_layers
    assert_rows_sum_to_total(report)


# --- combinators, forms, API --------------------------------------------------------------


def test_concat_inception_like_block(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
input: 1x3x16x16
layers:
  mixed:
    concat:
      dim: 1
      branches:
        - Conv2d: [3, 8, 1]
        - - Conv2d: [3, 16, 3, {padding: 1}]
          - ReLU
        - - MaxPool2d: {kernel_size: 3, stride: 1, padding: 1}
          - Conv2d: [3, 4, 1]
  pool: {AdaptiveAvgPool2d: 1}
""",
    )
    report = netinspect.inspect_model(path)
    cat = [r for r in report.layers if r.kind == "function" and r.parent == "mixed"]
    assert len(cat) == 1 and cat[0].type == "torch.cat"
    assert cat[0].output_shapes == ((1, 8 + 16 + 4, 16, 16),)
    assert report.outputs == ((1, 28, 1, 1),)
    assert report.totals.params == conv(3, 8, 1) + conv(3, 16, 3) + conv(3, 4, 1)


def test_residual_default_shortcut_and_forms(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
name: forms
input: 2x8
layers:
  - residual:
      body:
        - Linear: [8, 8]
  - _target_: torch.nn.Linear
    _args_: [8, 4]
    bias: false
  - torch.nn.LayerNorm: [4]
""",
    )
    report = netinspect.inspect_model(path)
    assert report.model.name == "forms"
    assert row(report, "0.shortcut").type == "Identity"
    assert row(report, "1").type == "Linear"
    assert report.totals.params == linear(8, 8) + linear(8, 4, bias=False) + 2 * 4
    assert report.outputs == ((2, 4),)


def test_dotted_short_form_and_hydra_args(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
input: 1x64x8x8
layers:
  - torchvision.ops.SqueezeExcitation: [64, 16]
  - _target_: torch.nn.Conv2d
    _args_: [64, 8]
    kernel_size: 3
""",
    )
    report = netinspect.inspect_model(path)
    # SqueezeExcitation(64, 16): two 1x1 convs 64->16 and 16->64, with biases.
    assert report.totals.params == conv(64, 16, 1) + conv(16, 64, 1) + conv(64, 8, 3)
    assert row(report, "0").type == "SqueezeExcitation"
    assert report.outputs == ((1, 8, 6, 6),)


def test_build_model_returns_a_usable_initialised_module() -> None:
    import torch

    model = netinspect.build_model(str(CONFIGS / "mlp.yaml"))
    assert isinstance(model, torch.nn.Module)
    weights = list(model.parameters())
    assert all(p.device.type == "cpu" for p in weights)
    assert any(bool(p.abs().sum() > 0) for p in weights if p.dim() > 1)  # real init, not zeros
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_input_override_and_default(tmp_path: Path) -> None:
    report = netinspect.inspect_model(str(CONFIGS / "mlp.yaml"), inputs=["4x1x28x28"])
    assert report.outputs == ((4, 10),)


def test_yaml_alias_builds_separate_layers(tmp_path: Path) -> None:
    path = write_config(tmp_path, "input: 1x4\nlayers:\n  - &lin {Linear: [4, 4]}\n  - *lin\n")
    model = netinspect.build_model(path, "meta")
    assert model[0] is not model[1]
    assert sum(p.numel() for p in model.parameters()) == 2 * linear(4, 4)


# --- CLI ------------------------------------------------------------------------------------


runner = CliRunner()


def test_cli_inspect_config_ok() -> None:
    result = runner.invoke(
        app, ["inspect", str(CONFIGS / "vgg16_keypoints.yaml"), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert '"params": 18193352' in result.stdout


def test_cli_inspect_broken_config_exits_3() -> None:
    result = runner.invoke(app, ["inspect", str(CONFIGS / "resnet18_cifar_broken.yaml")])
    assert result.exit_code == 3
    assert "layer2.0" in result.stderr


def test_cli_validate(tmp_path: Path) -> None:
    bad = write_config(
        tmp_path, "layers:\n  - Linear: [4, 4]\n  - Conv2D: [3, 64, 3]\n", "bad.yaml"
    )
    good = str(CONFIGS / "mlp.yaml")
    ok = runner.invoke(app, ["validate", good, str(CONFIGS / "resnet18_cifar_broken.yaml")])
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("ok: ") == 2
    mixed = runner.invoke(app, ["validate", good, bad])
    assert mixed.exit_code == 1
    lines = mixed.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ok: ")
    assert lines[1] == (
        f"invalid: {bad}:3:5: unknown layer 'Conv2D' (did you mean Conv2d?): "
        "bare names are torch.nn layers"
    )


# --- round trip -------------------------------------------------------------------------

_ACTIVATIONS = ["ReLU", "Tanh", "GELU", "Identity", "Sigmoid"]


@st.composite
def sequential_configs(draw: st.DrawFn) -> tuple[list[object], list[str], int, int, int]:
    """Random small Linear stacks in every layer form, with the expected types and sizes."""
    width = draw(st.integers(1, 16))
    first = width
    layers: list[object] = []
    types: list[str] = []
    params = 0
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["linear", "activation", "dropout", "norm"]))
        if kind == "linear":
            out = draw(st.integers(1, 16))
            bias = draw(st.booleans())
            form = draw(st.sampled_from(["short", "kwargs", "target", "mixed"]))
            if form == "short" and bias:
                layers.append({"Linear": [width, out]})
            elif form == "kwargs":
                layers.append({"Linear": {"in_features": width, "out_features": out, "bias": bias}})
            elif form == "target":
                layers.append(
                    {
                        "_target_": "torch.nn.Linear",
                        "in_features": width,
                        "out_features": out,
                        "bias": bias,
                    }
                )
            else:
                layers.append({"Linear": [width, out, {"bias": bias}]})
            types.append("Linear")
            params += linear(width, out, bias)
            width = out
        elif kind == "activation":
            name = draw(st.sampled_from(_ACTIVATIONS))
            layers.append(name)
            types.append(name)
        elif kind == "dropout":
            layers.append({"Dropout": draw(st.sampled_from([0.0, 0.1, 0.5]))})
            types.append("Dropout")
        else:
            layers.append({"LayerNorm": [width]})
            types.append("LayerNorm")
            params += 2 * width
    return layers, types, first, width, params


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequential_configs(), st.integers(1, 3))
def test_round_trip_random_sequential(
    case: tuple[list[object], list[str], int, int, int], batch: int
) -> None:
    layers, types, first, last, params = case
    text = yaml.safe_dump({"input": f"{batch}x{first}", "layers": layers}, sort_keys=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(text)
        report = netinspect.inspect_model(str(path))
    modules = [r for r in report.layers if r.kind == "module" and r.depth == 1]
    assert [r.name for r in modules] == [str(i) for i in range(len(layers))]
    assert [r.type for r in modules] == types
    assert report.totals.params == params
    assert report.outputs == ((batch, last),)


# --- API types, description, error order ----------------------------------------------------


def test_build_model_accepts_a_path_object(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text("input: 1x4\nlayers:\n  - Linear: [4, 2]\n")
    model = netinspect.build_model(config, "meta")
    assert sum(p.numel() for p in model.parameters()) == 4 * 2 + 2


def test_description_is_carried_into_the_report(tmp_path: Path) -> None:
    from netinspect.deserialize import report_from_dict
    from netinspect.serialize import report_to_dict

    config = tmp_path / "d.yaml"
    config.write_text("description: a tiny head\ninput: 1x4\nlayers:\n  - Linear: [4, 2]\n")
    report = netinspect.inspect_model(str(config))
    assert report.model.description == "a tiny head"
    data = report_to_dict(report)
    assert data["model"]["description"] == "a tiny head"
    assert report_from_dict(data).model.description == "a tiny head"
    assert netinspect.inspect_model("alexnet").model.description is None


def test_constructor_error_comes_before_missing_input(tmp_path: Path) -> None:
    from netinspect.errors import ConfigError

    config = tmp_path / "bad.yaml"
    config.write_text("layers:\n  - Linear: [abc, 10]\n")
    with pytest.raises(ConfigError) as info:
        netinspect.inspect_model(str(config))
    assert (info.value.line, info.value.col) == (2, 5)
    assert "Linear(...) failed" in info.value.message
    good = tmp_path / "good.yaml"
    good.write_text("layers:\n  - Linear: [4, 10]\n")
    with pytest.raises(netinspect.errors.UsageError, match="has no default input"):
        netinspect.inspect_model(str(good))
