"""The seeds' broken ResNet18 as a YAML config: exit 3 and the expert diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from netinspect_cli.main import app
from typer.testing import CliRunner

from netinspect import inspect_model
from netinspect.errors import ForwardFailed

BROKEN = str(Path(__file__).parent.parent / "configs" / "resnet18_cifar_broken.yaml")


def test_broken_resnet_config_is_diagnosed() -> None:
    with pytest.raises(ForwardFailed) as info:
        inspect_model(BROKEN)
    error = info.value.report.error
    assert error is not None
    # layer2's first block halves 32x32 to 16x16 and doubles 64 channels to 128, but the
    # identity shortcut still carries the block's input [1, 64, 32, 32].
    assert error.input_shapes == ((1, 128, 16, 16), (1, 64, 32, 32))
    assert error.message == (
        "layer2.0.body output [1,128,16,16] cannot be added to its input [1,64,32,32]: "
        "channels 128 vs 64, size 16 vs 32"
    )
    assert error.hint is not None and error.hint.startswith(
        "add a projection shortcut (1×1 conv, stride 2): nn.Conv2d(64, 128, 1, stride=2"
    )
    assert not any("never called" in note for note in info.value.report.notes)


def test_broken_resnet_config_cli_exit_3_json() -> None:
    result = CliRunner().invoke(app, ["inspect", BROKEN, "-f", "json"])
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["error"]["name"] == "layer2.0.add"
    assert data["layers"][data["error"]["layer_index"]]["name"] == "layer2.0.add"
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("channels 128 vs 64, size 16 vs 32")
