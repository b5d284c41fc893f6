"""Hostile files: what netinspect writes must never replace a
FIFO, a device or a link's target; what it reads (baselines, reports, pyproject.toml, a local
package folder) must never run code or end in an internal error. Each refusal is exit 2 and
one line on stderr."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.compare.baseline import baseline_path
from netinspect.errors import BaselineError
from tests.conftest import one_line_error

MODELS = Path(__file__).parent / "models"
TINY = f"{MODELS / 'sources.py'}:Tiny"
REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def inspect_to(output: str, *extra: str) -> Any:
    return runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-f", "json", "-o", output, *extra])


# --- 1. --output: atomic for regular files only --------------------------------------------
def test_output_to_a_fifo_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = inspect_to(str(fifo))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not a regular file
    assert json.loads(received[0])["totals"]["params"] == 15  # Linear(4, 3): 4*3 + 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temp file left


def test_output_to_a_character_device_is_written_in_place(tmp_path: Path) -> None:
    node = tmp_path / "null"
    try:  # a private /dev/null (1, 3): never touch the machine's own
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    result = inspect_to(str(node))
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(node).st_mode)


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_output_dash_and_dev_stdout_are_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = inspect_to(target)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    assert list(tmp_path.iterdir()) == []  # no file called "-"


def test_output_into_a_missing_directory_is_refused_not_created(tmp_path: Path) -> None:
    line = one_line_error(inspect_to(str(tmp_path / "no" / "such" / "dir" / "x.json")))
    assert "does not exist" in line
    assert not (tmp_path / "no").exists()


def test_output_symlink_loop_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "symbolic links" in one_line_error(inspect_to(str(tmp_path / "a")))


def test_output_to_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in one_line_error(inspect_to(str(tmp_path)))


def test_write_text_atomic_never_writes_through_a_link(tmp_path: Path) -> None:
    from netinspect.fileio import NotRegularFile, write_output, write_text_atomic

    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(outside)
    with pytest.raises(NotRegularFile, match="symbolic link"):
        write_text_atomic(link, "new")
    assert outside.read_text() == "keep me"
    # --output, by contrast, writes through the link (as `>` would) and keeps it.
    write_output(link, "new")
    assert link.is_symlink() and outside.read_text() == "new"


# --- 2. baselines are regular files inside the baseline directory ----------------------------
NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "net.py").write_text(NET)
    return tmp_path


def snapshot(*args: str) -> Any:
    return runner.invoke(app, ["snapshot", "net.py:Net", "-i", "1x4", *args])


def test_snapshot_refuses_a_symlinked_baseline(project: Path) -> None:
    (project / ".netinspect").mkdir()
    victim = project / "victim.txt"
    victim.write_text("precious")
    link = baseline_path(project / ".netinspect", "net.py:Net")
    link.symlink_to(victim)
    line = one_line_error(snapshot())
    assert link.name in line and "symbolic link" in line
    assert victim.read_text() == "precious"
    assert link.is_symlink()


def test_snapshot_refuses_a_dangling_baseline_link(project: Path) -> None:
    (project / ".netinspect").mkdir()
    elsewhere = project / "elsewhere" / "deep" / "x.json"
    baseline_path(project / ".netinspect", "net.py:Net").symlink_to(elsewhere)
    assert "symbolic link" in one_line_error(snapshot())
    assert not (project / "elsewhere").exists()  # no directories made at the link's target


@pytest.mark.parametrize("kind", ["symlink", "loop", "fifo"])
def test_check_names_a_baseline_that_is_not_a_regular_file(project: Path, kind: str) -> None:
    assert snapshot().exit_code == 0
    path = baseline_path(project / ".netinspect", "net.py:Net")
    real = project / "real.json"
    path.rename(real)
    if kind == "symlink":
        path.symlink_to(real)
    elif kind == "loop":
        path.symlink_to(path)
    else:
        os.mkfifo(path)  # opened without blocking, then refused
    result = runner.invoke(app, ["check", "net.py:Net"])
    line = one_line_error(result)
    assert path.name in line and "regular files" in line


def test_read_baseline_refuses_a_link(project: Path) -> None:
    from netinspect.compare.baseline import read_baseline

    assert snapshot().exit_code == 0
    path = baseline_path(project / ".netinspect", "net.py:Net")
    link = project / ".netinspect" / "link.json"
    link.symlink_to(path)
    with pytest.raises(BaselineError, match="symbolic link"):
        read_baseline(link)


SIGTERM_DURING_WRITE = """
import os, signal, sys, time
import typer
import netinspect.fileio as fileio
from netinspect.compare.baseline import read_baseline, write_baseline
from netinspect_cli.app import handle_errors
from netinspect_cli.main import install_sigterm_handler

install_sigterm_handler()  # what the entry point does first
baseline = read_baseline(sys.argv[1])

def fsync_then_sigterm(fd):
    os.kill(os.getpid(), signal.SIGTERM)  # CI cancels the job mid-write
    time.sleep(5)

fileio.os.fsync = fsync_then_sigterm
try:
    with handle_errors(debug=False):
        write_baseline(os.path.dirname(sys.argv[1]), baseline)
except typer.Exit as exc:
    sys.exit(exc.exit_code)
"""


def test_sigterm_during_a_baseline_write_leaves_no_temp_file(project: Path) -> None:
    # The write path as snapshot runs it, in a subprocess without torch (fast).
    assert snapshot().exit_code == 0
    directory = project / ".netinspect"
    (baseline,) = directory.iterdir()
    before = baseline.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_WRITE, str(baseline)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr.strip() == "netinspect: terminated"
    assert [p.name for p in directory.iterdir()] == [baseline.name]  # the temp file is gone
    assert baseline.read_bytes() == before  # and the old baseline intact


def test_the_entry_point_installs_the_sigterm_handler() -> None:
    # The library leaves signals alone; the CLI's main() turns SIGTERM into cleanup.
    code = textwrap.dedent(
        """
        import signal, sys
        import netinspect_cli.main as cli
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        sys.argv = ["netinspect", "--version"]
        try:
            cli.main()
        except SystemExit:
            pass
        assert signal.getsignal(signal.SIGTERM) is cli._raise_terminated
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- 3. a local folder never shadows torch/torchvision --------------------------------------
SHADOW = "open({marker!r}, 'w').write('imported the local copy')\n"


def _shadowing_project(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """cwd holding torchvision/ (writes a marker when imported) and a config using it; a fake
    'installed' torchvision first on PYTHONPATH, so no real torchvision import is paid."""
    work, site = tmp_path / "work", tmp_path / "site"
    marker = tmp_path / "MARKER"
    (work / "torchvision" / "ops").mkdir(parents=True)
    (work / "torchvision" / "__init__.py").write_text(SHADOW.format(marker=str(marker)))
    (work / "torchvision" / "ops" / "__init__.py").write_text(SHADOW.format(marker=str(marker)))
    (site / "torchvision" / "ops").mkdir(parents=True)
    (site / "torchvision" / "__init__.py").write_text("")
    (site / "torchvision" / "ops" / "__init__.py").write_text(
        "class Installed:\n    pass\nInstalled.__module__ = 'torchvision.ops'\n"
    )
    # An installed torchvision.models that knows no model at all: `model: vgg16` is unknown.
    (site / "torchvision" / "models").mkdir()
    (site / "torchvision" / "models" / "__init__.py").write_text(
        "def list_models(module=None):\n    return []\n"
        "detection = segmentation = video = optical_flow = quantization = None\n"
    )
    (work / "torchvision" / "models").mkdir()
    (work / "torchvision" / "models" / "__init__.py").write_text(SHADOW.format(marker=str(marker)))
    (work / "zoo.yaml").write_text("model: vgg16\n")
    (work / "model.yaml").write_text(
        "layers:\n  - torchvision.ops.SqueezeExcitation: [8, 2]\ninput: 1x8x4x4\n"
    )
    pythonpath = os.pathsep.join([str(site), str(REPO)])
    return work, marker, {**os.environ, "PYTHONPATH": pythonpath}


def test_config_imports_come_from_installed_packages_not_the_cwd(tmp_path: Path) -> None:
    work, marker, env = _shadowing_project(tmp_path)
    # `python -c` puts the current directory first on sys.path, as `python -m` does.
    code = (
        "from netinspect.sources.files import import_from_cwd\n"
        "print(import_from_cwd('torchvision.ops').__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert done.stdout.strip().startswith(str(tmp_path / "site"))


def test_validate_and_inspect_never_import_a_local_torchvision(tmp_path: Path) -> None:
    work, marker, env = _shadowing_project(tmp_path)
    # Both commands in one process (torch is imported once), as the entry point runs them.
    code = textwrap.dedent(
        """
        import sys
        from netinspect_cli.main import main
        for command in (["zoo.yaml"], ["validate", "model.yaml"], ["inspect", "model.yaml"]):
            sys.argv = ["netinspect", *command]
            try:
                main()
            except SystemExit as exc:
                print("exit", exc.code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert not marker.exists(), (done.stdout, done.stderr)
    # The fake installed torchvision.ops has no SqueezeExcitation: refused, never imported.
    assert done.stdout.count("exit") == 3 and "exit 1" in done.stdout and "exit 2" in done.stdout
    assert (done.stdout + done.stderr).count("has no attribute 'SqueezeExcitation'") == 2
    assert "unknown torchvision model 'vgg16'" in done.stderr


# --- 4. a baseline's "target" is data: never run ---------------------------------------------
EVIL = "open('RAN', 'w').write('the baseline ran me')\n"


def _plant_baseline(project: Path, target: str) -> Path:
    """A well-formed baseline for ``target``, copied from a real one of net.py:Net."""
    assert snapshot().exit_code == 0
    real = baseline_path(project / ".netinspect", "net.py:Net")
    data = json.loads(real.read_text())
    real.unlink()
    data["target"] = target
    planted = baseline_path(project / ".netinspect", target)
    planted.write_text(json.dumps(data))
    return planted


def test_bare_check_does_not_run_a_baselines_target(project: Path) -> None:
    (project / "evil.py").write_text(EVIL)
    _plant_baseline(project, "evil:Net")
    line = one_line_error(runner.invoke(app, ["check"]))
    assert "no targets" in line and "evil:Net" in line
    assert not (project / "RAN").exists()


def test_check_reports_a_baseline_no_listed_target_claims(project: Path) -> None:
    (project / "evil.py").write_text(EVIL)
    planted = _plant_baseline(project, "evil:Net")
    (project / "pyproject.toml").write_text(
        '[tool.netinspect]\ntargets = ["net.py:Net"]\n[tool.netinspect.inputs]\n'
        '"net.py:Net" = ["1x4"]\n'
    )
    assert runner.invoke(app, ["snapshot"]).exit_code == 0
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert not (project / "RAN").exists()
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and planted.name in notes[0] and "'evil:Net'" in notes[0]
    assert "1 target(s) checked, all match" in result.stdout


# --- 12. hostile JSON, links and pyproject.toml: exit 2, one line ------------------------------
def _hostile_json(kind: str) -> str:
    if kind == "deep":
        return "[" * 100_000 + "]" * 100_000
    return '{"schema_version": 1, "layers": [], "totals": {"params": ' + "9" * 5000 + "}}"


@pytest.mark.parametrize("kind", ["deep", "long_number"])
def test_diff_refuses_hostile_json(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(_hostile_json(kind))
    for args in ([str(path), str(path)], [str(path), TINY]):
        line = one_line_error(runner.invoke(app, ["diff", *args, "-i", "1x4"]))
        assert "r.json" in line
        assert ("levels deep" if kind == "deep" else "5000 digits") in line


@pytest.mark.parametrize("kind", ["deep", "long_number"])
def test_check_refuses_a_hostile_baseline(project: Path, kind: str) -> None:
    assert snapshot().exit_code == 0
    path = baseline_path(project / ".netinspect", "net.py:Net")
    path.write_text(_hostile_json(kind))
    line = one_line_error(runner.invoke(app, ["check", "net.py:Net"]))
    assert path.name in line and "corrupt baseline" in line


def test_a_baseline_that_is_a_symlink_loop_in_diff(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    line = one_line_error(runner.invoke(app, ["diff", str(loop), str(loop)]))
    assert "symbolic links" in line


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b'[tool]\nnetinspect = "\xff"\n', "not UTF-8"), (b"tool = 5\n", "tool must be a table")],
)
def test_hostile_pyproject_is_one_line(project: Path, content: bytes, fragment: str) -> None:
    (project / "pyproject.toml").write_bytes(content)
    for command in (["check"], ["snapshot"], ["diff", "net.py:Net", "net.py:Net", "-i", "1x4"]):
        line = one_line_error(runner.invoke(app, command))
        assert "pyproject.toml" in line and fragment in line


def test_random_bytes_as_weights_are_not_called_python_objects(tmp_path: Path) -> None:
    path = tmp_path / "random.pt"
    # Fixed "random" bytes: the start of a PNG, then noise (no pickle, no zip archive).
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    line = one_line_error(
        runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(path)])
    )
    assert "not a PyTorch checkpoint" in line and "Python objects" not in line
