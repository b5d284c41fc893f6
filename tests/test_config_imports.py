"""``_target_`` resolution is strict: ``module.Name`` (the longest importable module, then one
attribute), and by default only nn.Module classes or torchvision model builders.

Nothing here may download or build weights: every refused target would, if resolved and
called, do work no config should trigger (``get_state_dict`` downloads a checkpoint).
"""

from __future__ import annotations

import sys
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

import netinspect
from netinspect.errors import ConfigError
from netinspect.sources.config import load_config_target
from tests.conftest import write_config


def refusal(path: str, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config_target(path, **kwargs)  # type: ignore[arg-type]
    return info.value.message


def test_attribute_chain_on_an_object_is_refused(tmp_path: Path) -> None:
    # Before the fix this resolved to a bound method and called it (a weights download).
    text = "model:\n  _target_: torchvision.models.ResNet18_Weights.DEFAULT.get_state_dict\n"
    message = refusal(write_config(tmp_path, text))
    assert "walks attributes" in message
    assert "module.Name" in message


def test_attribute_chain_is_refused_even_under_an_allowed_prefix(tmp_path: Path) -> None:
    text = "model:\n  _target_: torchvision.models.ResNet18_Weights.DEFAULT.get_state_dict\n"
    message = refusal(write_config(tmp_path, text), allow_import=("torchvision.models",))
    assert "walks attributes" in message


def test_helper_function_is_refused_by_default(tmp_path: Path) -> None:
    text = "model:\n  _target_: torchvision.models.get_weight\n  name: ResNet18_Weights.DEFAULT\n"
    message = refusal(write_config(tmp_path, text))
    assert "not a torch.nn.Module class or a torchvision model builder" in message
    assert "--allow-import torchvision.models.get_weight" in message


def test_non_module_class_is_refused_by_default(tmp_path: Path) -> None:
    # An enum class in torchvision.models: callable, but neither a layer nor a builder.
    text = "model:\n  _target_: torchvision.models.ResNet18_Weights\n"
    assert "not a torch.nn.Module class" in refusal(write_config(tmp_path, text))


def test_allowed_builders_and_layers_still_resolve(tmp_path: Path) -> None:
    text = (
        "input: 1x3x32x32\n"
        "layers:\n"
        "  - _target_: torch.nn.Conv2d\n"
        "    in_channels: 3\n    out_channels: 4\n    kernel_size: 3\n"
        "  - _target_: torchvision.ops.misc.Conv2dNormActivation\n"
        "    in_channels: 4\n    out_channels: 2\n"
    )
    model = netinspect.build_model(write_config(tmp_path, text), "meta")
    # Conv2d(3,4,3): 4*3*9 + 4 = 112; Conv2dNormActivation(4,2): conv 2*4*9 (no bias) + BN 2*2.
    assert sum(p.numel() for p in model.parameters()) == 112 + 72 + 4
    builder = "model:\n  _target_: torchvision.models.resnet18\n  num_classes: 10\n"
    target = load_config_target(write_config(tmp_path, builder, "b.yaml"))
    assert target.family == "classification"


def test_user_prefix_allows_any_module_level_callable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_factories.py").write_text(
        "import torch.nn as nn\n\ndef make(features):\n    return nn.Linear(features, 3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_factories", raising=False)
    text = "input: 1x5\nlayers:\n  - _target_: my_factories.make\n    features: 5\n"
    report = netinspect.inspect_model(write_config(tmp_path, text), allow_import=("my_factories",))
    assert report.outputs == ((1, 3),)
    assert report.totals.params == 5 * 3 + 3


def test_cli_refusal_is_one_line(tmp_path: Path) -> None:
    text = "model:\n  _target_: torchvision.models.ResNet18_Weights.DEFAULT.get_state_dict\n"
    result = CliRunner().invoke(app, ["inspect", write_config(tmp_path, text)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "walks attributes" in result.stderr


def test_a_builder_registered_under_another_name_is_allowed(tmp_path: Path) -> None:
    # torchvision registers torchvision.models.quantization.resnet18 as "quantized_resnet18".
    from netinspect import inspect_model

    text = "model: {_target_: torchvision.models.quantization.resnet18, quantize: false}\n"
    report = inspect_model(write_config(tmp_path, text), ["1x3x224x224"])
    assert report.device == "meta"
    assert report.totals.params == 11_689_512  # the float QuantizableResNet: resnet18's count
