"""snapshot / check / diff with YAML config targets (the examples in configs/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from netinspect_cli.main import app
from typer.testing import CliRunner

CONFIGS = Path(__file__).parent.parent / "configs"
runner = CliRunner()


def test_diff_vgg16_against_the_keypoint_config() -> None:
    result = runner.invoke(
        app, ["diff", "vgg16", str(CONFIGS / "vgg16_keypoints.yaml"), "-f", "json"]
    )
    assert result.exit_code == 1, result.stderr
    diff = json.loads(result.stdout)
    changes = {c["field"]: (c["old"], c["new"]) for c in diff["changes"]}
    assert changes["outputs"] == ([[1, 1000]], [[1, 136]])
    # 138,357,544 (vgg16) -> 18,193,352 (the keypoint head, field notes' reference count).
    assert changes["totals.params"] == (138_357_544, 18_193_352)
    assert changes["flatten"][1]["name"] == "avgpool.2"
    status = {c["name"]: c["status"] for c in diff["layers"] if c["status"] != "same"}
    assert status["avgpool"] == "replaced"
    assert status["avgpool.2"] == "added"
    assert status["classifier.6"] == "removed"
    assert diff["outermost_changes"] == ["avgpool", "flatten", "classifier"]


def test_snapshot_then_check_a_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(CONFIGS / "mlp.yaml", tmp_path / "mlp.yaml")
    assert runner.invoke(app, ["snapshot", "mlp.yaml"]).exit_code == 0
    assert runner.invoke(app, ["check", "mlp.yaml"]).exit_code == 0
    text = (tmp_path / "mlp.yaml").read_text()
    assert "out_features: 128" in text
    # A narrower hidden layer that still runs: a shape regression, exit 1.
    narrower = text.replace("out_features: 128", "out_features: 64")
    (tmp_path / "mlp.yaml").write_text(narrower.replace("in_features: 128", "in_features: 64"))
    result = runner.invoke(app, ["check", "mlp.yaml", "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.startswith("::error file=mlp.yaml")
    assert "[1, 128] -> [1, 64]" in result.stdout


def test_check_of_a_config_that_no_longer_runs_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the hidden layer narrowed: the next Linear still wants 128, so the forward fails.
    # A model that no longer runs is worse than a changed shape: exit 3, status failed, the
    # diff still shown (what changed is why it fails), and no advice to --update.
    monkeypatch.chdir(tmp_path)
    shutil.copy(CONFIGS / "mlp.yaml", tmp_path / "mlp.yaml")
    assert runner.invoke(app, ["snapshot", "mlp.yaml"]).exit_code == 0
    text = (tmp_path / "mlp.yaml").read_text()
    (tmp_path / "mlp.yaml").write_text(text.replace("out_features: 128", "out_features: 64"))
    result = runner.invoke(app, ["check", "mlp.yaml", "--format", "github"])
    assert result.exit_code == 3
    assert "Forward error: none -> Linear 6 expects a last dim of 128" in result.stdout
    assert "forward pass failed" in result.stdout and "--update" not in result.stdout
