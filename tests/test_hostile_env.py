"""Hostile models, files and environments: each refusal is one line with a documented exit
code, and what a model does during its forward (threads, forks, prints, chdir, set-default-
device) cannot change what netinspect writes or where."""

from __future__ import annotations

from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import UsageError
from netinspect.specs import parse_forward_arg
from tests.conftest import one_line_error

MODELS = Path(__file__).parent / "models"
TINY = f"{MODELS / 'sources.py'}:Tiny"
runner = CliRunner()


# --- nesting that would reach Python's recursion limit in a parser ---------------------------
@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a: ", "}")])
def test_a_deeply_nested_arg_is_refused(opener: str, closer: str) -> None:
    with pytest.raises(UsageError, match="nested more than 50 levels deep"):
        parse_forward_arg("x=" + opener * 1000 + closer * 1000)
    result = runner.invoke(app, ["inspect", TINY, "--arg", "x=" + opener * 1000 + closer * 1000])
    assert "nested more than 50 levels deep" in one_line_error(result)
    # Brackets inside a scalar nest nothing that deep: still a plain string.
    assert parse_forward_arg("x=a[b]") == ("x", "a[b]")


@pytest.mark.parametrize(
    "value",
    ["[" * 20_000 + "]" * 20_000, "{a = " * 20_000 + "1" + "}" * 20_000],
    ids=["arrays", "inline-tables"],
)
def test_a_deeply_nested_pyproject_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.netinspect]\ntargets = {value}\n")
    monkeypatch.chdir(tmp_path)
    assert "nested more than 50 levels deep" in one_line_error(runner.invoke(app, ["check"]))


def test_brackets_in_toml_strings_and_comments_are_not_nesting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netinspect.compare.project import load_project_settings

    text = f'[tool.netinspect]\ntargets = ["{"[" * 100}"]  # {"{" * 100}\n'
    (tmp_path / "pyproject.toml").write_text(text)
    assert load_project_settings(tmp_path).targets == ("[" * 100,)


# --- long names -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["inspect", "sizes", "snapshot"])
def test_a_5000_character_target_is_refused(command: str) -> None:
    result = runner.invoke(app, [command, "a" * 5000])
    assert "target of 5,000 characters refused" in one_line_error(result)


def test_a_huge_pyproject_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = "a" * (3 * 1024 * 1024)
    (tmp_path / "pyproject.toml").write_text(f'[tool.netinspect]\ntargets = ["{big}"]\n')
    monkeypatch.chdir(tmp_path)
    assert "larger than 2 MiB" in one_line_error(runner.invoke(app, ["check"]))
    (tmp_path / "pyproject.toml").write_text(f'[tool.netinspect]\ntargets = ["{"a" * 5000}"]\n')
    line = one_line_error(runner.invoke(app, ["check"]))
    assert "target of 5,000 characters refused" in line


def test_output_with_a_250_character_name(tmp_path: Path) -> None:
    out = tmp_path / ("r" * 245 + ".json")
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
