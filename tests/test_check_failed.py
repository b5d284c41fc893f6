"""``check`` on a model whose forward pass now raises: one status, ``failed``, in every format,
exit 3, no ``--update`` advice; and the messages of a failing check shown once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from netinspect_cli import app as cli_app
from netinspect_cli import main as _registers_commands  # noqa: F401
from typer.testing import CliRunner

from netinspect.schema import load_schema

from .test_check_cli import INPUT, NET, write_net

jsonschema = pytest.importorskip("jsonschema")

BROKEN = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("boom")
"""


def run(*args: str) -> object:
    return CliRunner().invoke(cli_app.app, list(args), catch_exceptions=False)


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A baseline of the working Net, then its forward broken."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    write_net(tmp_path / "models" / "net.py")
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (tmp_path / "models" / "net.py").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def test_table_says_failed_and_exits_3_without_update_advice(broken: Path) -> None:
    result = run("check", NET)
    assert result.exit_code == 3
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAILED") and "forward pass failed" in first and "boom" in first
    assert "REGRESSION" not in result.stdout and "--update" not in result.stdout
    assert "1 forward pass(es) failed" in result.stdout


def test_json_status_is_failed_and_valid(broken: Path) -> None:
    result = run("check", NET, "-f", "json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema("check"))
    (entry,) = data["results"]
    assert not data["ok"] and entry["status"] == "failed"
    assert "RuntimeError: boom" in entry["error"]


def test_github_annotation_names_the_failure_not_update(broken: Path) -> None:
    result = run("check", NET, "-f", "github")
    assert result.exit_code == 3
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("::error")]
    assert "forward pass failed" in line and "boom" in line
    assert "--update" not in line and "changed shape" not in line


def test_update_refuses_with_the_same_status_and_keeps_the_baseline(broken: Path) -> None:
    (path,) = (broken / ".netinspect").iterdir()
    before = path.read_bytes()
    result = run("check", NET, "--update")
    assert result.exit_code == 3
    assert result.stdout.startswith(f"FAILED     {NET}: forward pass failed, baseline not updated")
    # The target is named once per line, on stdout and on stderr.
    assert all(line.count(NET) <= 1 for line in result.output.splitlines())
    assert path.read_bytes() == before


def test_update_without_a_baseline_creates_none_for_a_broken_model(broken: Path) -> None:
    for path in (broken / ".netinspect").iterdir():
        path.unlink()
    result = run("check", NET, *INPUT, "--update", "-f", "json")
    assert result.exit_code == 3
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["status"] == "failed" and "no baseline created" in entry["error"]
    assert list((broken / ".netinspect").iterdir()) == []


def test_regression_table_says_how_to_accept_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    write_net(tmp_path / "models" / "net.py")
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(tmp_path / "models" / "net.py", classes=5)
    result = run("check", NET)
    assert result.exit_code == 1
    assert f"Accept with: netinspect check {NET} --update" in result.stdout


def test_one_stream_when_stdout_and_stderr_share_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``2>&1`` into a CI log: what the payload says is not repeated on stderr."""
    monkeypatch.setattr(cli_app, "stdout_is_tty", lambda: False)
    with open(tmp_path / "log", "w") as log, open(tmp_path / "other", "w") as other:
        monkeypatch.setattr(sys, "stdout", log)
        monkeypatch.setattr(sys, "stderr", log)
        assert cli_app.one_stream()
        monkeypatch.setattr(sys, "stderr", other)
        assert not cli_app.one_stream()


def _annotation(stdout: str) -> str:
    (line,) = [x for x in stdout.splitlines() if x.startswith("::error")]
    return line


def test_github_annotation_points_at_the_changed_rows_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    write_net(tmp_path / "models" / "net.py")
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(tmp_path / "models" / "net.py", classes=5)
    result = run("check", NET, "-f", "github")
    assert result.exit_code == 1
    source = (tmp_path / "models" / "net.py").read_text().splitlines()
    # head is the first row that differs; it is called in `return self.head(x.flatten(1))`.
    line = next(i for i, text in enumerate(source, 1) if "self.head(" in text)
    assert _annotation(result.stdout).startswith(f"::error file=models/net.py,line={line},")


def test_github_annotation_of_a_failure_points_at_the_failing_call(broken: Path) -> None:
    (broken / "models" / "net.py").write_text(
        BROKEN.replace(
            'self.conv(x)\n        raise RuntimeError("boom")', "return self.conv(x[:, :2])"
        ),
        encoding="utf-8",
    )
    result = run("check", NET, "-f", "github")
    assert result.exit_code == 3
    source = (broken / "models" / "net.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "self.conv(x[:, :2])" in text)
    assert _annotation(result.stdout).startswith(f"::error file=models/net.py,line={line},")


def test_source_line_only_for_the_annotated_file() -> None:
    from netinspect.render.github import source_line

    assert source_line("models/net.py:12", "models/net.py") == 12
    assert source_line("torchvision/models/vgg.py:69", "models/net.py") is None
    assert source_line(None, "models/net.py") is None
