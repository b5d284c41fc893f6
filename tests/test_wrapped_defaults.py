"""A factory or class that wraps a torchvision model runs on that model's default input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from torch import nn
from typer.testing import CliRunner

from netinspect.errors import UsageError
from netinspect.pipeline.run import inspect_model
from netinspect.sources.torchvision import wrapped_model_inputs

WRAP = """
import torch.nn as nn
from torchvision.models import resnet18, inception_v3


class Wrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = resnet18()
        self.extra = nn.Linear(1000, 2)

    def forward(self, x):
        return self.extra(self.backbone(x))


def make():
    return Wrap()


def inception():
    return inception_v3(init_weights=False, aux_logits=False)


def plain():
    return nn.Sequential(nn.Linear(4, 4))
"""


@pytest.fixture
def wrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "wrap.py").write_text(WRAP, encoding="utf-8")
    return tmp_path


def test_factory_wrapping_resnet_uses_its_input(wrap: Path) -> None:
    report = inspect_model("wrap.py:make")
    assert [i.shape for i in report.inputs] == [(1, 3, 224, 224)]
    assert report.outputs == ((1, 2),)
    assert any("backbone (ResNet): 1x3x224x224" in n for n in report.notes)


def test_a_model_specific_input_wins_over_the_family(wrap: Path) -> None:
    report = inspect_model("wrap.py:inception")
    assert [i.shape for i in report.inputs] == [(1, 3, 299, 299)]


def test_no_torchvision_model_still_asks_for_an_input(wrap: Path) -> None:
    with pytest.raises(UsageError, match="has no default input"):
        inspect_model("wrap.py:plain")
    result = CliRunner().invoke(app, ["inspect", "wrap.py:make"])
    assert result.exit_code == 0 and "(ResNet)" in result.output


def test_building_blocks_are_not_models() -> None:
    from torchvision.models.resnet import BasicBlock

    assert wrapped_model_inputs(nn.Sequential(BasicBlock(4, 4))) is None
