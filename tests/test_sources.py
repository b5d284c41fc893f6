"""Other model sources (torch.compile, TorchScript), non-tensor forward arguments (--arg), and
every kind of output: distributions, dataclasses, ModelOutput-style dicts, nested containers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import UsageError
from netinspect.pipeline.run import inspect_model
from netinspect.specs import parse_forward_arg, parse_forward_args

MODELS = Path(__file__).parent / "models"
SOURCES = MODELS / "sources.py"
runner = CliRunner()


def target(name: str) -> str:
    return f"{SOURCES}:{name}"


def no_hooks(model: torch.nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


# --- torch.compile and TorchScript ---------------------------------------------------------
def test_compiled_module_is_inspected_through_its_original() -> None:
    report = inspect_model(target("compiled_tiny"), ["1x4"])
    assert report.model.class_name == "Tiny"
    assert [row.name for row in report.layers if row.kind == "module"] == ["", "fc"]
    assert report.totals.params == 4 * 3 + 3
    assert report.outputs == ((1, 3),)
    assert any("torch.compile" in note for note in report.notes)


def test_compiled_object_is_inspected_and_left_as_it_was() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_sources_for_compile", SOURCES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    compiled = module.compiled_tiny()
    compiled.train()
    report = inspect_model(compiled, torch.zeros(2, 4))
    assert report.outputs == ((2, 3),)
    assert report.totals.params == 15
    assert compiled.training and compiled._orig_mod.training
    assert no_hooks(compiled._orig_mod)


def test_scripted_module_is_a_clear_usage_error() -> None:
    with pytest.raises(UsageError, match="TorchScript"):
        inspect_model(target("scripted_tiny"), ["1x4"], device="cpu")


def test_scripted_submodule_is_named() -> None:
    with pytest.raises(UsageError, match=r"'body'.*TorchScript"):
        inspect_model(target("WithScriptedChild"), ["1x4"], device="cpu")


def test_scripted_module_cli_exit_2_one_line() -> None:
    result = runner.invoke(
        app, ["inspect", target("scripted_tiny"), "-i", "1x4", "--device", "cpu"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TorchScript" in lines[0] and "Traceback" not in result.stderr


# --- non-tensor forward arguments -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps=3", ("steps", 3)),
        ("pool=true", ("pool", True)),
        ("pool=False", ("pool", False)),
        ("scale=0.5", ("scale", 0.5)),
        ("scale=null", ("scale", None)),
        ("mode=mean", ("mode", "mean")),
        ("mode='3'", ("mode", "3")),
        ("when=2020-01-01", ("when", "2020-01-01")),
    ],
)
def test_parse_forward_arg(text: str, expected: tuple[str, object]) -> None:
    assert parse_forward_arg(text) == expected


@pytest.mark.parametrize("text", ["steps", "=3", "two words=1", "x=[1, 2]", "x={a: 1}", "x='open"])
def test_parse_forward_arg_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_forward_arg(text)


def test_forward_arg_given_twice() -> None:
    with pytest.raises(UsageError, match="twice"):
        parse_forward_args(["steps=1", "steps=2"])


def test_forward_args_reach_forward() -> None:
    report = inspect_model(target("Flags"), ["2x4"], forward_args={"steps": 3, "pool": True})
    fc_rows = [row for row in report.layers if row.name == "fc"]
    assert [row.call_index for row in fc_rows] == [0, 1, 2]  # steps=3: fc ran three times
    assert report.outputs == ((2,),)  # pool=True: mean over the features


def test_cli_arg_option() -> None:
    result = runner.invoke(
        app,
        [
            "inspect",
            target("Flags"),
            "-i",
            "2x4",
            "--arg",
            "steps=2",
            "--arg",
            "scale=0.5",
            "--arg",
            "pool=false",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["call_index"] for row in data["layers"] if row["name"] == "fc"] == [0, 1]
    assert [row["type"] for row in data["layers"]][-1] == "Tensor.mul"  # scale was applied
    assert data["outputs"] == [[2, 4]]


def test_cli_bad_arg_is_exit_2() -> None:
    result = runner.invoke(app, ["inspect", target("Flags"), "-i", "2x4", "--arg", "steps"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "name=value" in result.stderr


def test_unknown_forward_arg_is_a_usage_error_found_before_the_pass() -> None:
    result = runner.invoke(app, ["inspect", target("Flags"), "-i", "2x4", "--arg", "nope=1"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Flags.forward has no argument 'nope'; it takes: " in lines[0]


# --- outputs of every kind --------------------------------------------------------------------
def test_distribution_output() -> None:
    report = inspect_model(target("Gaussian"), ["1x4"])
    assert report.outputs == ((1, 2), (1, 2))  # loc, scale


def test_dataclass_output() -> None:
    report = inspect_model(target("ReturnsDataclass"), ["1x4"])
    assert report.outputs == ((1, 3), (1, 4))  # logits, features; the str label is skipped


def test_model_output_style_dict() -> None:
    report = inspect_model(target("ReturnsModelOutput"), ["1x4"])
    # The fields that are set, in field order: logits, then hidden_states (x, h).
    assert report.outputs == ((1, 5), (1, 4), (1, 8))
    assert report.totals.params == (4 * 8 + 8) + (8 * 5 + 5)


def test_nested_output() -> None:
    report = inspect_model(target("ReturnsNested"), ["3x4"])
    assert report.outputs == ((3, 2), (3, 4), (3,), (2, 3))


@pytest.mark.parametrize("name", ["ReturnsNothing", "ReturnsString"])
def test_forward_without_tensor_output(name: str) -> None:
    report = inspect_model(target(name), ["1x4"])
    assert report.outputs == ()
    assert any("returned no tensor" in note for note in report.notes)
    result = runner.invoke(app, ["inspect", target(name), "-i", "1x4", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["outputs"] == []
    assert "returned no tensor" in result.stderr
