"""The picture formats through the CLI: -o FILE.html, -f mermaid, --graph, render, diff and
check pages. Small models on meta; saved reports need no model at all."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from netinspect_cli.main import app
from typer.testing import CliRunner

from tests.conftest import model_target
from tests.test_picture import page_data, residual_report

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_output_html_by_extension(tmp_path: Path) -> None:
    out = tmp_path / "model.html"
    result = run("inspect", "alexnet", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote html report to {out}" in result.stderr
    data = page_data(out.read_text(encoding="utf-8"))
    report = data["report"]
    # Not collapsed before the page (it folds repeats itself): every captured row is there.
    assert all(row["repeat"] == 1 for row in report["layers"])
    assert report["flatten"]["name"] == "flatten"
    assert data["cards"]["flatten"][1] == "[1, 256, 6, 6] -> [1, 9216] = 256×6×6 = 9,216"


def test_mermaid_to_stdout_and_by_extension(tmp_path: Path) -> None:
    result = run("inspect", model_target("Frozen"), "-i", "1x3x8x8", "-f", "mermaid")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart TD\n")
    assert "class " in result.stdout and " flatten" in result.stdout
    out = tmp_path / "model.mmd"
    assert run("inspect", model_target("Frozen"), "-i", "1x3x8x8", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == result.stdout


def test_markdown_graph_flag() -> None:
    result = run("inspect", model_target("Frozen"), "-i", "1x3x8x8", "-f", "markdown", "--graph")
    assert result.exit_code == 0, result.output
    head, rows = result.stdout.split("| # | Layer |", 1)
    assert "```mermaid\nflowchart TD\n" in head and "```mermaid" not in rows


def test_failing_model_page_exit_3(tmp_path: Path) -> None:
    out = tmp_path / "broken.html"
    result = run("inspect", model_target("Broken"), "-i", "1x3x12x12", "-o", str(out))
    assert result.exit_code == 3
    data = page_data(out.read_text(encoding="utf-8"))
    error = data["report"]["error"]
    assert error["message"] == "Linear fc: flatten produced 8×10×10 = 800; Linear expects 100"
    assert ["Problem", error["message"]] in data["cards"]["failure"]


def save(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_render_a_saved_report_in_every_format(tmp_path: Path) -> None:
    report = residual_report(data_flow=True)
    path = save(tmp_path, "r.json", report)
    page = tmp_path / "r.html"
    result = run("render", str(path), "-o", str(page))
    assert result.exit_code == 0, result.output
    # inputs_from survives: the page is drawn from the saved dict itself.
    assert page_data(page.read_text(encoding="utf-8"))["report"] == report
    mermaid = run("render", str(path), "-f", "mermaid").stdout
    assert '  r1 -->|"[1,4,8,8]"| r6' in mermaid
    table = run("render", str(path)).stdout
    assert "◀ flatten" in table and "Total params" in table
    assert json.loads(run("render", str(path), "-f", "json").stdout)["layers"][2]["name"] == "block"
    folded = run("render", str(path), "-f", "mermaid", "--depth", "1").stdout
    assert "block.conv1" not in folded and "r2[" in folded


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "not valid JSON"),
        ('{"kind": "netinspect-baseline", "layers": []}', "is a baseline"),
        ('{"layers": [], "schema_version": 99}', "newer netinspect (schema_version 99"),
        ('{"a": 1}', "is not a netinspect report"),
        ('{"layers": [{"name": "x"}]}', "corrupt report"),
    ],
)
def test_render_refuses_what_is_not_a_report(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("render", str(path), "-f", "html")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("netinspect: error: ") and fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_render_never_imports_torch(tmp_path: Path) -> None:
    path = save(tmp_path, "r.json", residual_report(data_flow=True))
    code = (
        "import sys\n"
        f"sys.argv = ['netinspect', 'render', {str(path)!r}, '-o', {str(tmp_path / 'p.html')!r}]\n"
        "from netinspect_cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "NO-TORCH"
    assert (tmp_path / "p.html").stat().st_size > 10_000


def test_diff_html_of_two_saved_reports(tmp_path: Path) -> None:
    old = residual_report(data_flow=False)
    new = residual_report(data_flow=False)
    new["layers"][8]["output_shapes"] = [[1, 12]]
    new["layers"][8]["params"] = new["layers"][8]["trainable_params"] = 3084
    a, b = save(tmp_path, "a.json", old), save(tmp_path, "b.json", new)
    out = tmp_path / "d.html"
    result = run("diff", str(a), str(b), "-o", str(out))
    assert result.exit_code == 1
    data = page_data(out.read_text(encoding="utf-8"))
    (target,) = data["targets"]
    assert target["flatten"] == ["flatten", "flatten"]
    changed = [r for r in target["rows"] if r["s"] != "same"]
    assert [(r["s"], r["n"]["name"], r["f"]) for r in changed] == [
        ("changed", "head", ["output_shapes", "params", "trainable_params"])
    ]
    assert len(target["rows"]) == 9  # unchanged rows too: the page shows both sides whole
    same = run("diff", str(a), str(a), "-f", "html")
    assert same.exit_code == 0 and "<!DOCTYPE html>" in same.stdout


NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 8, {classes})

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))
"""


def test_check_writes_the_html_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    model = tmp_path / "net.py"
    model.write_text(NET.format(classes=10), encoding="utf-8")
    assert run("snapshot", "net.py:Net", "-i", "1x3x8x8").exit_code == 0
    model.write_text(NET.format(classes=12), encoding="utf-8")
    out = tmp_path / "artifacts" / "shapes.html"
    out.parent.mkdir()
    result = run("check", "net.py:Net", "--html", str(out))
    assert result.exit_code == 1  # the exit code is the check's, whatever the artifact
    assert f"wrote html check report to {out}" in result.stderr
    data = page_data(out.read_text(encoding="utf-8"))
    (target,) = data["targets"]
    assert (target["target"], target["status"]) == ("net.py:Net", "regression")
    assert re.search(r"Output: \[1, 10\] -> \[1, 12\]", "\n".join(target["changes"]))
