"""What a person sees on a terminal: help for a bare call, suggestions for a misspelt option,
every note and error once, and a table that never splits a word."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import netinspect_cli.app as cli_app
import pytest
from netinspect_cli.main import main
from typer.testing import CliRunner

MODELS = Path(__file__).parent / "models"
TOKENS = f"{MODELS / 'user_code.py'}:Tokens"


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    """The installed entry point (routing included), as ``netinspect ARGS``."""
    monkeypatch.setattr(sys, "argv", ["netinspect", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    out, err = capsys.readouterr()
    return caught.value.code, out, err


def test_a_bare_call_prints_the_help_on_stdout_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("Usage: netinspect [OPTIONS] COMMAND [ARGS]...")
    assert "sizes" in out and "--version" in out


def test_a_misspelt_global_option_gets_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "--verison")
    assert (code, out) == (2, "")
    assert err == (
        "netinspect: error: No such option: --verison (did you mean --version?); "
        "see 'netinspect --help'\n"
    )


@pytest.fixture
def one_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr on the same terminal (colour off, to read the text)."""
    monkeypatch.setattr(cli_app, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(cli_app, "stderr_is_tty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli_app.app, list(args), catch_exceptions=False)


NOTE = "made int64"  # the note of an Embedding's input given without a dtype


@pytest.mark.usefixtures("one_terminal")
def test_notes_show_once_on_a_terminal() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(NOTE) == 1 and NOTE not in result.stderr


@pytest.mark.usefixtures("one_terminal")
def test_a_forward_failure_shows_once_on_a_terminal() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10:float32")
    assert result.exit_code == 3
    assert "looks up token ids" in result.stdout and result.stderr == ""


def test_piped_output_keeps_the_notes_on_stderr_for_logs() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10")
    assert result.stdout.count(NOTE) == 1 and result.stderr.count(NOTE) == 1


@pytest.mark.usefixtures("one_terminal")
def test_check_errors_show_once_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "vgg16")  # no baseline: an error for that target
    assert result.exit_code == 2
    assert result.stdout.count("no baseline for vgg16") == 1
    assert "no baseline" not in result.stderr
