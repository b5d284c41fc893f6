"""Baselines and saved reports read back are checked against the published schemas: a value
of the wrong type is a corrupt file (exit 2, one line), never truncated or compared."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.schema import load_schema
from netinspect.schema.validate import SchemaMismatch, check_against
from tests.conftest import one_line_error

TINY = f"{Path(__file__).parent / 'models' / 'sources.py'}:Tiny"
runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real report and a real baseline of Tiny (Linear(4, 3))."""
    root = tmp_path_factory.mktemp("saved")
    report = root / "r.json"
    assert runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-o", str(report)]).exit_code == 0
    return {"report": json.loads(report.read_text())}


def baseline_of(report: dict[str, Any]) -> dict[str, Any]:
    from netinspect.compare.diff import comparable_view

    view = comparable_view(report)
    return {"kind": "netinspect-baseline", "schema_version": 1, "target": "t", "inputs": None,
            "report": view}  # fmt: skip


@pytest.mark.parametrize("name", ["report", "diff", "check", "sizes", "baseline"])
def test_every_shipped_schema_is_within_the_validators_subset(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    from netinspect.schema.validate import _KNOWN

    def keywords(node: Any) -> set[str]:
        if not isinstance(node, dict):
            return set()
        found = set(node)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                found |= {k for v in value.values() for k in keywords(v)}
            elif key in ("items", "additionalProperties"):
                found |= keywords(value)
            elif key == "oneOf":
                found |= {k for v in value for k in keywords(v)}
        return found

    assert keywords(schema) <= _KNOWN
    with pytest.raises(SchemaMismatch):
        check_against(17, schema)


def test_the_validator_agrees_with_jsonschema_on_real_files(saved: dict[str, Any]) -> None:
    report = saved["report"]
    check_against(report, load_schema("report"))
    jsonschema.validate(report, load_schema("report"))
    check_against(baseline_of(report), load_schema("baseline"))
    jsonschema.validate(baseline_of(report), load_schema("baseline"))


CORRUPTIONS = {
    "fractional dim": (lambda v: v["layers"][0]["output_shapes"][0].__setitem__(0, 1.5),
                       "layers[0].output_shapes[0][0]: 1.5 is not an integer"),
    "name 5": (lambda v: v["layers"][0].__setitem__("name", 5), "layers[0].name: 5 is not a string"),
    "type null": (lambda v: v["layers"][0].__setitem__("type", None),
                  "layers[0].type: None is not a string"),
    "negative params": (lambda v: v["layers"][0].__setitem__("params", -1), "is below 0"),
    "bool call index": (lambda v: v["layers"][0].__setitem__("call_index", True),
                        "True is not an integer"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_corrupt_baseline_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved: dict[str, Any], case: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["snapshot", TINY, "-i", "1x4"]).exit_code == 0
    (path,) = (tmp_path / ".netinspect").glob("*.json")
    document = json.loads(path.read_text())
    corrupt, expected = CORRUPTIONS[case]
    corrupt(document["report"])
    path.write_text(json.dumps(document))
    line = one_line_error(runner.invoke(app, ["check", TINY, "-i", "1x4"]))
    assert "corrupt baseline: report." in line and expected in line


@pytest.mark.parametrize("case", [*sorted(CORRUPTIONS), "error abc"])
def test_a_corrupt_saved_report_is_exit_2(tmp_path: Path, saved: dict[str, Any], case: str) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    report = copy.deepcopy(saved["report"])
    good.write_text(json.dumps(report))
    if case == "error abc":
        report["error"] = "abc"  # a report's error is an object with a message
        expected = "error: 'abc' fits none of the allowed forms"
    else:
        CORRUPTIONS[case][0](report)
        expected = CORRUPTIONS[case][1]
    bad.write_text(json.dumps(report))
    for args in (["diff", str(good), str(bad)], ["render", str(bad), "-f", "markdown"]):
        line = one_line_error(runner.invoke(app, args))
        assert "corrupt report" in line and expected in line


# --- size limits on what is read back, and a diff table that stays linear ------------------------
def test_a_baseline_past_the_size_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["snapshot", TINY, "-i", "1x4"]).exit_code == 0
    (path,) = (tmp_path / ".netinspect").glob("*.json")
    document = json.loads(path.read_text())
    document["report"]["layers"][0]["type"] = "x" * (33 * 1024 * 1024)
    path.write_text(json.dumps(document))
    line = one_line_error(runner.invoke(app, ["check", TINY, "-i", "1x4"]))
    assert "more than the 32 MiB a saved report or baseline may have" in line


def test_too_many_layers_or_a_too_long_string_is_refused(
    tmp_path: Path, saved: dict[str, Any]
) -> None:
    view = baseline_of(saved["report"])["report"]  # compact rows: 100,001 fit in 32 MiB
    view["layers"] = [view["layers"][0]] * 100_001
    (tmp_path / "many.json").write_text(json.dumps(view))
    args = ["diff", str(tmp_path / "many.json"), str(tmp_path / "many.json")]
    line = one_line_error(runner.invoke(app, args))
    assert "100,001 layers, more than the 100,000 a report may have" in line
    report = copy.deepcopy(saved["report"])
    report["layers"][0]["name"] = "n" * 1_000_001
    (tmp_path / "long.json").write_text(json.dumps(report))
    line = one_line_error(runner.invoke(app, ["render", str(tmp_path / "long.json")]))
    assert "layers[0].name: a string of 1,000,001 characters (the limit is 1,000,000)" in line


def test_the_diff_table_clips_long_cells_and_many_rows(
    tmp_path: Path, saved: dict[str, Any]
) -> None:
    old, new = copy.deepcopy(saved["report"]), copy.deepcopy(saved["report"])
    row = old["layers"][-1]
    old["layers"] = [{**row, "name": f"l{i}", "index": i} for i in range(3_000)]
    new["layers"] = [{**row, "name": f"l{i}", "index": i, "params": 1} for i in range(3_000)]
    new["layers"][0]["type"] = "T" * 900_000
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    start = time.perf_counter()
    result = runner.invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert time.perf_counter() - start < 120  # the rows past 500 are not laid out
    assert result.exit_code == 1, result.stderr
    assert "(900,000 characters)" in result.stdout
    assert "... and 2,500 more differing rows (-f json lists all)" in result.stdout
    assert len(result.stdout) < 2_000_000


# --- Markdown and Mermaid from hostile names ----------------------------------------------------
def test_render_markdown_with_a_huge_depth_stays_small(
    tmp_path: Path, saved: dict[str, Any]
) -> None:
    report = copy.deepcopy(saved["report"])
    report["layers"][0]["depth"] = 10**9
    (tmp_path / "deep.json").write_text(json.dumps(report))
    result = runner.invoke(app, ["render", str(tmp_path / "deep.json"), "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("&nbsp;") <= 2 * 24 * len(report["layers"])


def hostile_report(saved: dict[str, Any]) -> dict[str, Any]:
    report = copy.deepcopy(saved["report"])
    report["model"]["name"] = "net\n<img src=x onerror=alert(1)>"
    layer = report["layers"][-1]
    layer["name"] = 'fc"]\n  click r1 call alert(1)\n  x["`<b>`'
    layer["type"] = "</td><script>alert(1)</script>"
    return report


def test_markdown_escapes_html_and_newlines(tmp_path: Path, saved: dict[str, Any]) -> None:
    (tmp_path / "h.json").write_text(json.dumps(hostile_report(saved)))
    result = runner.invoke(app, ["render", str(tmp_path / "h.json"), "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "<img" not in text and "<script" not in text and "</td>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # The name stays one code span: its fence is longer than the backtick inside it.
    assert '`` fc"]\\n  click r1 call alert(1)\\n  x["`<b>` ``' in text
    assert not any(line.startswith("  click") for line in text.splitlines())


def test_mermaid_labels_stay_one_statement(tmp_path: Path, saved: dict[str, Any]) -> None:
    (tmp_path / "h.json").write_text(json.dumps(hostile_report(saved)))
    result = runner.invoke(app, ["render", str(tmp_path / "h.json"), "-f", "mermaid"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not any(line.strip().startswith("click") for line in lines)
    assert not any("<script" in line or "<b>" in line for line in lines)
