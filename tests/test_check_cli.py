"""``netinspect snapshot`` / ``check`` / ``diff`` through the CLI, on small .py models (meta)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.schema import load_schema

jsonschema = pytest.importorskip("jsonschema")

MODELS = Path(__file__).parent / "models" / "variants.py"

NET_TEMPLATE = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU(){extra_init}
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8 * 4 * 4, {classes})

    def forward(self, x):
        x = self.relu(self.conv(x)){extra_call}
        x = self.pool(x)
        return self.head(x.flatten(1))
"""


def write_net(path: Path, classes: int = 10, extra: bool = False) -> None:
    """Net on a 1x3x8x8 input: conv(3->8) relu [conv2(8->8)] pool flatten head(128->classes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        NET_TEMPLATE.format(
            classes=classes,
            extra_init="\n        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)" if extra else "",
            extra_call="\n        x = self.conv2(x)" if extra else "",
        ),
        encoding="utf-8",
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd = tmp_path holding models/net.py; no stale bytecode when the file is rewritten."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    write_net(tmp_path / "models" / "net.py")
    return tmp_path


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


NET = "models/net.py:Net"
INPUT = ("--input", "1x3x8x8")


def test_unchanged_model_passes(project: Path) -> None:
    result = run("snapshot", NET, *INPUT)
    assert result.exit_code == 0, result.output
    baseline = project / ".netinspect" / next(p.name for p in (project / ".netinspect").iterdir())
    data = json.loads(baseline.read_text())
    assert data["target"] == NET and data["inputs"] == ["1x3x8x8"]
    assert str(project) not in baseline.read_text()  # no machine paths
    result = run("check", NET)  # the baseline's input is reused
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "all match" in result.stdout


def test_changed_head_fails_naming_the_layers(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", classes=5)
    result = run("check", NET)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "REGRESSION" in out and "Changed: head" in out
    assert "[1,128] -> [1,10]" in out and "[1,128] -> [1,5]" in out
    # Linear(128, n) has 128n + n params.
    assert f"{128 * 10 + 10:,} params" in out and f"{128 * 5 + 5:,} params" in out
    assert "Output: [1, 10] -> [1, 5]" in out


def test_added_and_removed_layers_are_insertions_and_deletions(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", extra=True)
    result = run("check", NET, "--format", "json")
    assert result.exit_code == 1
    diff = json.loads(result.stdout)["results"][0]["diff"]
    # conv2 keeps the 8x8x8 shape, so nothing after it changes: one insertion, no cascade.
    assert [(x["status"], x["name"]) for x in diff["layers"]] == [("added", "conv2")]
    assert diff["layers"][0]["new"]["params"] == 8 * 8 * 3 * 3 + 8

    assert run("check", NET, "--update").exit_code == 0
    write_net(project / "models" / "net.py")
    result = run("check", NET, "--format", "json")
    diff = json.loads(result.stdout)["results"][0]["diff"]
    assert [(x["status"], x["name"]) for x in diff["layers"]] == [("removed", "conv2")]


def test_update_accepts_the_new_state(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", classes=5)
    result = run("check", NET, "--update")
    assert result.exit_code == 0, result.output
    assert "updated baseline" in result.stderr
    assert run("check", NET).exit_code == 0


def test_missing_baseline_exits_2_naming_the_file(project: Path) -> None:
    result = run("check", NET)
    assert result.exit_code == 2
    assert ".netinspect/" in result.stdout and "does not exist" in result.stdout
    assert "netinspect snapshot" in result.stdout


def test_corrupt_baseline_exits_2_naming_the_file(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (path,) = (project / ".netinspect").iterdir()
    path.write_text('{"kind": "netinspect-baseline", "schema_ver', encoding="utf-8")
    result = run("check", NET, "--format", "github")
    assert result.exit_code == 2
    assert path.name in result.stderr and "corrupt" in result.stderr
    assert result.stdout.startswith("::error ")


def test_newer_schema_is_refused(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (path,) = (project / ".netinspect").iterdir()
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run("check", NET)
    assert result.exit_code == 2
    assert "newer netinspect" in result.stdout and path.name in result.stdout


@pytest.mark.parametrize("hook", ["replace", "fsync"])
def test_interrupted_update_keeps_the_old_baseline(
    project: Path, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (path,) = (project / ".netinspect").iterdir()
    before = path.read_bytes()
    write_net(project / "models" / "net.py", classes=5)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    # fsync: the temp file is written but not yet durable; replace: durable, not yet renamed.
    monkeypatch.setattr(os, hook, crash)
    result = run("check", NET, "--update")
    assert result.exit_code == 130
    assert path.read_bytes() == before
    assert [p.name for p in (project / ".netinspect").iterdir()] == [path.name]


def test_failed_write_is_a_usage_error_and_keeps_the_old_baseline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (path,) = (project / ".netinspect").iterdir()
    before = path.read_bytes()
    write_net(project / "models" / "net.py", classes=5)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    result = run("check", NET, "--update")
    assert result.exit_code == 2
    assert "No space left on device" in result.stdout
    assert path.read_bytes() == before
    assert len(list((project / ".netinspect").iterdir())) == 1


def test_github_format_emits_error_annotations(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", classes=5)
    result = run("check", NET, "--format", "github")
    assert result.exit_code == 1
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("::error")]
    props, _, message = line.removeprefix("::error ").partition("::")
    assert "file=models/net.py" in props
    assert "title=netinspect check%3A models/net.py%3ANet changed shape" in props
    lines = message.split("%0A")
    assert lines[0].startswith("Changed: head")
    assert "changed head: output shapes [1, 10] -> [1, 5]; params 1,290 -> 645" in lines
    assert "\n" not in message


def test_json_format_is_valid(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", classes=5)
    result = run("check", NET, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema("check"))
    (entry,) = data["results"]
    assert not data["ok"] and entry["status"] == "regression"
    jsonschema.validate(entry["diff"], load_schema("diff"))


def test_unknown_target_is_a_usage_error(project: Path) -> None:
    result = run("check", "no_such_model_xyz", "--format", "json")
    assert result.exit_code == 2
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["status"] == "error" and "no_such_model_xyz" in entry["error"]


PYPROJECT = """
[project]
name = "demo"

[tool.netinspect]
targets = ["models/net.py:Net", "models/other.py:Net"]
dir = "baselines"

[tool.netinspect.inputs]
"models/net.py:Net" = ["1x3x8x8"]
"models/other.py:Net" = "1x3x8x8"
"""


def test_bare_check_reads_pyproject(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_net(project / "models" / "other.py", classes=3)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert run("snapshot").exit_code == 0
    assert len(list((project / "baselines").glob("*.json"))) == 2
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "2 target(s) checked, all match" in result.stdout

    # From a subdirectory, paths are still taken from the pyproject.toml's directory.
    write_net(project / "models" / "other.py", classes=4)
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = run("check", "--format", "json")
    assert result.exit_code == 1, result.output
    statuses = {r["target"]: r["status"] for r in json.loads(result.stdout)["results"]}
    assert statuses == {"models/net.py:Net": "ok", "models/other.py:Net": "regression"}


def test_bare_check_without_pyproject_targets_runs_no_baseline(project: Path) -> None:
    # A baseline's "target" is data: targets come from the command line or
    # pyproject.toml. The baselines found are named, and nothing is run.
    assert run("snapshot", NET, *INPUT).exit_code == 0
    result = run("check")
    assert result.exit_code == 2, result.output
    assert "no targets" in result.stderr and NET in result.stderr
    assert run("check", NET).exit_code == 0  # named, it is checked as before


def test_bare_check_with_nothing_to_check_is_a_usage_error(project: Path) -> None:
    result = run("check")
    assert result.exit_code == 2
    assert "no targets" in result.stderr


def test_bad_pyproject_section_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.netinspect]\ntargetz = []\n", encoding="utf-8")
    result = run("check")
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stderr and "targetz" in result.stderr


def test_diff_of_a_saved_report_against_a_target(project: Path) -> None:
    assert run("inspect", NET, *INPUT, "-f", "json", "-o", "r.json").exit_code == 0
    same = run("diff", "r.json", NET)  # the target borrows the report's input
    assert same.exit_code == 0, same.output
    assert "No differences" in same.stdout
    write_net(project / "models" / "net.py", classes=5)
    changed = run("diff", "r.json", NET, "--format", "json")
    assert changed.exit_code == 1
    data = json.loads(changed.stdout)
    jsonschema.validate(data, load_schema("diff"))
    assert data["outermost_changes"] == ["head"]


def test_diff_of_a_missing_report_is_a_usage_error(project: Path) -> None:
    result = run("diff", "nope.json", NET)
    assert result.exit_code == 2
    assert "nope.json" in result.stderr


def _vgg16_params() -> tuple[int, int]:
    """vgg16 and its keypoint variant, by formula: conv k*k*cin*cout + cout, fc in*out + out."""
    cfg = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    features, cin = 0, 3
    for cout in cfg:
        features += 3 * 3 * cin * cout + cout
        cin = cout
    classifier = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    keypoint_head = (3 * 3 * 512 * 512 + 512) + (2048 * 512 + 512) + (512 * 136 + 136)
    return features + classifier, features + keypoint_head


def test_diff_vgg16_against_its_keypoint_head(project: Path) -> None:
    variant = f"{MODELS}:vgg16_keypoints"
    result = run("diff", "vgg16", variant, "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    rows = {(x["name"], x["status"]) for x in data["layers"]}
    assert ("avgpool", "replaced") in rows and ("classifier.4", "replaced") in rows
    assert {("avgpool.0", "added"), ("avgpool.1", "added"), ("avgpool.2", "added")} <= rows
    assert {("classifier.5", "removed"), ("classifier.6", "removed")} <= rows
    assert data["outermost_changes"] == ["avgpool", "flatten", "classifier"]
    changes = {c["field"]: (c["old"], c["new"]) for c in data["changes"]}
    assert changes["outputs"] == ([[1, 1000]], [[1, 136]])
    old_params, new_params = _vgg16_params()
    assert changes["totals.params"] == (old_params, new_params)
    assert changes["flatten"][1]["name"] == "avgpool.2"

    table = run("diff", "vgg16", variant)
    assert table.exit_code == 1
    assert "replaced   avgpool" in table.stdout and "Output: [1, 1000] -> [1, 136]" in table.stdout
    assert f"Total params: {old_params:,} -> {new_params:,}" in table.stdout


def test_snapshot_refuses_a_model_whose_forward_fails(project: Path) -> None:
    result = run("snapshot", NET, "--input", "1x3x16x16")  # head expects 128 features, gets 512
    assert result.exit_code == 3
    assert not (project / ".netinspect").exists() or not any((project / ".netinspect").iterdir())


def test_check_reports_a_forward_failure_as_a_regression(project: Path) -> None:
    assert run("snapshot", NET, *INPUT).exit_code == 0
    result = run("check", NET, "--input", "1x3x16x16", "--format", "json")
    assert result.exit_code == 3  # the forward failure's code; the diff says what changed
    fields = {c["field"] for c in json.loads(result.stdout)["results"][0]["diff"]["changes"]}
    assert {"error", "inputs"} <= fields


def test_check_is_a_routed_command() -> None:
    import typer.main
    from netinspect_cli.main import route_default_command

    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"snapshot", "check", "diff"} <= commands
    assert route_default_command(["check"], commands) == ["check"]


# --- --allow-import on snapshot/check/diff, pyproject allow_import, cwd packages ------------

LOCAL_LAYER = """
from torch import nn


class Twice(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.proj = nn.Linear(features, 2 * features)

    def forward(self, x):
        return self.proj(x)
"""


def write_local_package(root: Path, package: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``package/layers.py`` under ``root`` (not on sys.path) and a config that uses it."""
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "layers.py").write_text(LOCAL_LAYER)
    for name in (package, f"{package}.layers"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    (root / "local.yaml").write_text(
        f"input: 1x4\nlayers:\n  - _target_: {package}.layers.Twice\n    features: 4\n"
    )
    return "local.yaml"


def test_allow_import_on_snapshot_check_and_diff(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_local_package(project, "ni_pkg_flags", monkeypatch)
    assert str(project) not in sys.path
    refused = run("snapshot", config)
    assert refused.exit_code == 2
    assert "--allow-import ni_pkg_flags.layers" in refused.stderr
    # The suggested flag exists on the command that refused (and the cwd package is found).
    result = run("snapshot", config, "--allow-import", "ni_pkg_flags.layers")
    assert result.exit_code == 0, result.output
    result = run("check", config, "--allow-import", "ni_pkg_flags", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["status"] == "ok"
    result = run("diff", config, config, "--allow-import", "ni_pkg_flags", "--format", "json")
    assert result.exit_code == 0, result.output
    assert str(project) not in sys.path  # put on sys.path only while importing


def test_pyproject_allow_import_works_for_bare_check(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_local_package(project, "ni_pkg_toml", monkeypatch)
    (project / "pyproject.toml").write_text(
        f'[tool.netinspect]\ntargets = ["{config}"]\nallow_import = ["ni_pkg_toml"]\n'
    )
    assert run("snapshot").exit_code == 0
    result = run("check", "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["status"] == "ok"


def test_module_target_is_found_in_the_current_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_local_package(project, "ni_pkg_module", monkeypatch)
    result = run("inspect", "ni_pkg_module.layers:Twice", "--input", "1x4")
    # Twice() needs ``features``: the import worked, the call without arguments did not.
    assert "could not be called without arguments" in result.stderr
    assert "no module named" not in result.stderr.lower()
    assert str(project) not in sys.path


# --- unknown targets, --update summary, corrupt JSON, several snapshot targets ---------------


def test_check_of_an_unknown_model_says_unknown_with_did_you_mean(project: Path) -> None:
    result = run("check", "vgg61")
    assert result.exit_code == 2
    assert "unknown model 'vgg61'" in result.output
    assert "did you mean" in result.output and "vgg16" in result.output
    assert "no baseline" not in result.output


def test_update_summary_says_what_was_updated(project: Path) -> None:
    other = "models/other.py:Net"
    write_net(project / "models" / "other.py")
    assert run("snapshot", NET, other, *INPUT).exit_code == 0
    write_net(project / "models" / "net.py", classes=5)
    result = run("check", NET, other, "--update")
    assert result.exit_code == 0, result.output
    assert "all match" not in result.stdout
    assert "2 target(s) checked: 1 baseline(s) updated, 1 match." in result.stdout


def test_corrupt_json_message_reads_once_at(project: Path) -> None:
    # json's own message for this one ends in "at": "Unterminated string starting at".
    (project / "r.json").write_text('{"abc', encoding="utf-8")
    result = run("diff", "r.json", "r.json")
    assert result.exit_code == 2
    assert "at at" not in result.stderr
    assert "Unterminated string starting at: line 1, column 2" in result.stderr
    assert run("snapshot", NET, *INPUT).exit_code == 0
    (baseline,) = (project / ".netinspect").glob("*.json")
    baseline.write_text('{"kind', encoding="utf-8")
    result = run("check", NET)
    assert result.exit_code == 2 and "at at" not in result.output


def test_snapshot_carries_on_past_a_failing_target(project: Path) -> None:
    write_net(project / "models" / "other.py")
    result = run("snapshot", NET, "vgg61", "models/other.py:Net", *INPUT)
    assert result.exit_code == 2
    assert "unknown model 'vgg61'" in result.stderr
    assert len(list((project / ".netinspect").glob("*.json"))) == 2


# --- baseline identity from a subdirectory of the project -------------------------------------


def test_targets_typed_in_a_subdirectory_share_the_root_baseline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text("[tool.netinspect]\n", encoding="utf-8")
    (project / "configs").mkdir()
    (project / "configs" / "mlp.yaml").write_text(
        "input: 1x4\nlayers:\n  - Linear: [4, 3]\n", encoding="utf-8"
    )
    assert run("snapshot", "configs/mlp.yaml").exit_code == 0
    assert run("snapshot", NET, *INPUT).exit_code == 0
    made = sorted(p.name for p in (project / ".netinspect").iterdir())

    monkeypatch.chdir(project / "models")
    result = run("check", "../configs/mlp.yaml", "net.py:Net", "--format", "json")
    assert result.exit_code == 0, result.output
    targets = [r["target"] for r in json.loads(result.stdout)["results"]]
    assert targets == ["configs/mlp.yaml", NET]
    assert sorted(p.name for p in (project / ".netinspect").iterdir()) == made

    # The root-relative spelling typed inside models/ names a file that is not there.
    result = run("check", NET)
    assert result.exit_code == 2
    assert "relative to the current directory" in result.stderr
    assert "net.py" in result.stderr
