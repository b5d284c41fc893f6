"""The CLI through Typer's CliRunner: payload on stdout, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from netinspect_cli.main import app, route_default_command
from typer.testing import CliRunner

from tests.conftest import MODELS, model_target

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def assert_one_line_error(result: Any, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("netinspect: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_default_command_routing() -> None:
    commands = {"inspect", "list"}
    assert route_default_command(["vgg16", "-i", "1x3x32x32"], commands)[0] == "inspect"
    assert route_default_command(["list"], commands) == ["list"]
    assert route_default_command(["--version"], commands) == ["--version"]
    assert route_default_command([], commands) == []


def test_json_stdout_is_one_document(report_validator: Any) -> None:
    result = run("inspect", "vgg16", "--input", "1x3x224x224", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    report_validator.validate(data)
    assert data["flatten"]["output_shape"] == [1, 25088]
    assert data["totals"]["params"] == 138_357_544


def test_table_output_has_no_colour_when_piped() -> None:
    result = run("inspect", "resnet18", "--input", "1x3x64x64")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    assert "◀ flatten" in result.stdout
    assert "Total params          11,689,512" in result.stdout


def test_markdown_format() -> None:
    result = run("inspect", "alexnet", "-f", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("### alexnet (AlexNet)")


def test_depth_folds_rows_and_keeps_totals() -> None:
    result = run("inspect", "vgg16", "--depth", "1", "-f", "json")
    data = json.loads(result.stdout)
    assert [x["name"] for x in data["layers"]] == [
        "", "features", "avgpool", "flatten", "classifier",
    ]  # fmt: skip
    assert sum(x["params"] for x in data["layers"]) == data["totals"]["params"]


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.json"
    out.parent.mkdir()  # an existing directory: -o never creates one
    result = run("inspect", "resnet18", "-f", "json", "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "wrote json report" in result.stderr
    assert json.loads(out.read_text())["model"]["name"] == "resnet18"
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temp file left


def test_python_file_target_and_factory() -> None:
    result = run("inspect", model_target("make_tiny"), "-i", "2x4", "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"]["source"] == "file"
    assert data["outputs"] == [[2, 2]]
    assert data["totals"]["params"] == (4 * 3 + 3) + (3 * 2 + 2)


def test_module_target() -> None:
    result = run("inspect", "tests.models.core_models:Reuse", "-i", "1x8", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"]["source"] == "module"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["vgg61"], "vgg16, vgg13?)"),
        (["VGG16"], "did you mean vgg16"),
        (["vgg16", "-i", "1x3x22a4"], "unexpected 'a'"),
        (["vgg16", "-i", "1x3x224x224:floot"], "unknown dtype 'floot'"),
        (["nope/missing.py:Net"], "model file not found: nope/missing.py"),
        ([f"{MODELS / 'core_models.py'}:Reus"], "has no attribute 'Reus' (did you mean Reuse"),
        ([f"{MODELS / 'core_models.py'}:NeedsArgs", "-i", "1x4"], "could not be called without"),
        (
            [f"{MODELS / 'core_models.py'}:not_a_model", "-i", "1x4"],
            "returned int, not a torch.nn.Module",
        ),
        (["no_such_pkg.mod:Net"], "no module named 'no_such_pkg'"),
        ([f"{MODELS / 'core_models.py'}:Reuse"], "has no default input"),
        (["vgg16", "--device", "cuda"], "CUDA is not available"),
        (["vgg16", "--device", "tpu"], "unknown device 'tpu'"),
        (["vgg16", "--dtype", "float8"], "--dtype: unknown dtype 'float8'"),
        (["vgg16", "--weights", "nope.pt"], "weights file not found: nope.pt"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_one_line_error(run("inspect", *args), 2, fragment)


def test_weights_that_do_not_match(tmp_path: Path) -> None:
    from tests.models.core_models import Reuse

    good = tmp_path / "good.pt"
    bad = tmp_path / "bad.pt"
    torch.save(Reuse().state_dict(), good)
    torch.save({"block.weight": torch.zeros(3, 3), "block.bias": torch.zeros(8)}, bad)
    target = model_target("Reuse")
    ok = run("inspect", target, "-i", "1x8", "--weights", str(good), "--device", "cpu")
    assert ok.exit_code == 0, ok.stderr
    mismatch = run("inspect", target, "-i", "1x8", "--weights", str(bad))
    assert mismatch.exit_code == 2 and "Traceback" not in mismatch.stderr
    assert mismatch.stderr.strip().splitlines() == [
        f"netinspect: error: weights in {bad} do not match the model: 1 of 2 tensors match "
        "(1 shape mismatch; block.weight: [3, 3] in the checkpoint, [8, 8] in the model); "
        "--weights-partial loads the ones that match"
    ]
    assert "block.weight  [3, 3] float32  [8, 8] float32  shape mismatch" in mismatch.stdout
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert_one_line_error(
        run("inspect", target, "-i", "1x8", "--weights", str(tmp_path / "junk.pt")),
        2,
        "cannot read",
    )


def test_failing_forward_exit_3_with_partial_table() -> None:
    result = run("inspect", model_target("Broken"), "-i", "1x3x12x12")
    assert result.exit_code == 3
    assert "✖ failed here" in result.stdout
    assert (
        "forward pass failed: Linear fc: flatten produced 8×10×10 = 800; Linear expects 100"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback() -> None:
    result = run("inspect", "vgg61", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_list() -> None:
    result = run("list", "optical_flow")
    assert result.stdout.split() == ["raft_large", "raft_small"]
    assert len(run("list").stdout.split()) == 121
    assert_one_line_error(run("list", "toys"), 2, "unknown family 'toys'")


def test_help_and_version_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['netinspect', '--help']\n"
        "from netinspect_cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("NO-TORCH")
    version = subprocess.run(
        [sys.executable, "-m", "netinspect_cli.main", "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "netinspect 0.1.0"


def test_bare_model_through_the_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "netinspect_cli.main", "alexnet", "-f", "json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["params"] == 61_100_840


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["vgg16", "--format", "yaml"], "'yaml' is not one of 'table', 'json', 'markdown'"),
        (["vgg16", "--depth", "-1"], "Invalid value for '--depth'"),
        (["vgg16", "--bogus"], "No such option: --bogus"),
        (["inspect"], "Missing argument 'MODEL'"),
    ],
)
def test_typer_usage_errors_are_one_line_too(args: list[str], fragment: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "netinspect_cli.main", *args], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netinspect: error: ")
    assert fragment in lines[0] and "--help'" in lines[0]


def test_output_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = run("inspect", "resnet18", "-o", str(tmp_path / "afile" / "r.json"))
    assert_one_line_error(result, 2, "afile is a file, not a directory")


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("old")
    link.symlink_to(real)
    assert run("inspect", "resnet18", "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["model"]["name"] == "resnet18"  # .json: JSON by default
