"""``netinspect watch``: real edits to real files, read back from the watcher's output.

The end-to-end tests start the installed ``netinspect watch`` as a user would (stdout a pipe,
so no colours and no screen clearing), edit the model files, and wait for the re-inspection.
Two watcher processes cover every scenario, since each one imports torch once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.compare.reports import compare_reports
from netinspect.render import RenderOptions
from netinspect.render.watch import change_footer, change_marks, render_watch_run
from netinspect.watch.files import changed_files, is_local_file, stamps, traceback_files
from tests.records_factory import layer, report_of, small_cnn_layers

NETINSPECT = shutil.which("netinspect", path=str(Path(sys.executable).parent))

BLOCKS = """
from torch import nn


def block(channels=8):
    return nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
"""

MODEL = """
from torch import nn

from blocks import block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = block()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear({in_features}, {classes})

    def forward(self, x):
        {extra}return self.head(self.pool(self.features(x)).flatten(1))
"""


def write_model(folder: Path, classes: int = 10, in_features: int = 128, extra: str = "") -> None:
    (folder / "model.py").write_text(
        MODEL.format(classes=classes, in_features=in_features, extra=extra)
    )


class Watcher:
    """A running ``netinspect watch``; its stdout and stderr, merged, collected by a thread."""

    def __init__(self, cwd: Path, *args: str) -> None:
        assert NETINSPECT is not None
        env = {**os.environ, "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(
            [NETINSPECT, "watch", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> str:
        """Wait until a line matches ``pattern``; returns the output of that run (from its
        ``[run N]`` header to the matching line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines):
                if re.search(pattern, line):
                    start = max(j for j in range(i + 1) if self.lines[j].startswith("[run "))
                    return "\n".join(self.lines[start : i + 1])
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.text}")

    def children(self) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Fields after the ")" that ends the command name: state, ppid, ...
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found.append(int(entry))
        return found

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def watcher_factory(tmp_path: Path) -> Iterator[type[Watcher]]:
    started: list[Watcher] = []

    class Tracked(Watcher):
        def __init__(self, *args: str) -> None:
            super().__init__(tmp_path, *args)
            started.append(self)

    yield Tracked
    for watcher in started:
        watcher.stop()


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_watch_follows_real_edits(tmp_path: Path, watcher_factory: type[Watcher]) -> None:
    (tmp_path / "blocks.py").write_text(BLOCKS)
    write_model(tmp_path)
    watcher = watcher_factory("model.py:Net", "--input", "1x3x8x8")

    first = watcher.wait_for(r"run 1 done", timeout=180)
    assert "[run 1] first run" in first
    # Conv2d(3, 8, 3): 8·3·3·3 + 8 = 224; Linear(128, 10): 1,280 + 10 = 1,290.
    assert re.search(r"head\s+Linear\s+\[1,128\]\s+\[1,10\]\s+1,290", first)
    assert "◀ changed" not in first
    assert re.search(r"watching .*model\.py.*blocks\.py|watching .*blocks\.py.*model\.py", first)

    # 1. A new head: its row is marked, and so is the root whose output changed.
    write_model(tmp_path, classes=5)
    second = watcher.wait_for(r"run 2 done")
    assert "[run 2] model.py changed" in second
    assert re.search(r"head ◀ changed\s+Linear\s+\[1,128\]\s+\[1,5\]\s+645", second)
    assert re.search(r"\(root\) ◀ changed\s+Net", second)
    assert not re.search(r"features.*◀ changed", second)
    assert "Output: [1, 10] -> [1, 5]" in second
    assert "Total params: 1,514 -> 869 (-645)" in second
    assert "Since the last run: Changed: head (2 changed; 5 layers unchanged)" in second

    # 2. A syntax error mid-edit: shown in one line; the watcher keeps going.
    (tmp_path / "model.py").write_text(MODEL.split("class Net")[0] + "class Net(nn.Module:\n")
    third = watcher.wait_for(r"run 3 failed")
    assert "netinspect: error: importing model.py failed: SyntaxError" in third
    assert "Traceback" not in third

    # 3. Fixed on the next save: compared with run 2, the last run that passed.
    write_model(tmp_path, classes=5)
    fourth = watcher.wait_for(r"run 4 done")
    assert "Since the last run: no differences." in fourth
    assert "◀ changed" not in fourth

    # 4. A local module the model imports is watched too: 16 channels now reach a head built
    # for 8·4·4 = 128 features. The forward fails; the table shows how far it got, the
    # diagnosis, and marks the rows that differ from run 4.
    (tmp_path / "blocks.py").write_text(BLOCKS.replace("channels=8", "channels=16"))
    fifth = watcher.wait_for(r"run 5 failed")
    assert "[run 5] blocks.py changed" in fifth
    assert "Forward pass failed" in fifth and "✖ failed here" in fifth
    assert "flatten produced 16×4×4 = 256; Linear expects 128" in fifth
    # Conv2d(3, 16, 3): 16·27 + 16 = 448.
    assert re.search(r"0 ◀ changed\s+Conv2d\s+\[1,3,8,8\]\s+\[1,16,8,8\]\s+448", fifth)

    # 5. The head follows: compared with run 4, the last run that passed.
    write_model(tmp_path, classes=5, in_features=256)
    sixth = watcher.wait_for(r"run 6 done")
    assert re.search(r"head ◀ changed\s+Linear\s+\[1,256\]\s+\[1,5\]\s+1,285", sixth)
    assert re.search(r"0 ◀ changed\s+Conv2d", sixth)

    # 6. A crash of the inspection process itself: reported, and the watch goes on.
    write_model(tmp_path, classes=5, in_features=256, extra="__import__('os')._exit(7)\n        ")
    seventh = watcher.wait_for(r"run 7 crashed")
    assert "exited with code 7" in seventh
    write_model(tmp_path, classes=5, in_features=256)
    assert "no differences" in watcher.wait_for(r"run 8 done")

    # Ctrl-C: exit 130, no child left behind.
    assert watcher.interrupt() == 130
    assert "netinspect: interrupted" in watcher.text
    assert watcher.children() == []


@linux_only
def test_watch_restarts_a_slow_run_and_ctrl_c_kills_it(
    tmp_path: Path, watcher_factory: type[Watcher]
) -> None:
    (tmp_path / "blocks.py").write_text(BLOCKS)
    write_model(tmp_path, extra="__import__('time').sleep(300)\n        ")
    watcher = watcher_factory("model.py:Net", "--input", "1x3x8x8")
    watcher.wait_for(r"\[run 1\] first run", timeout=180)
    deadline = time.monotonic() + 120
    while not watcher.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (stuck,) = watcher.children()

    # A save while a run hangs: that run is killed and a new one starts.
    write_model(tmp_path)
    second = watcher.wait_for(r"run 2 done")
    assert "[run 2] changed during the run: started again" in second
    assert not Path(f"/proc/{stuck}").exists()

    # Ctrl-C while a run is going: the child is killed and reaped, exit 130.
    write_model(tmp_path, extra="__import__('time').sleep(300)\n        ")
    watcher.wait_for(r"\[run 3\]")
    deadline = time.monotonic() + 30
    while not watcher.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (running,) = watcher.children()
    assert watcher.interrupt() == 130
    assert not Path(f"/proc/{running}").exists()


# --- before torch: arguments --------------------------------------------------------------


def run_cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vgg16"], "nothing to watch: vgg16 is a torchvision model"),
        (["missing.py:Net"], "model file not found: missing.py"),
        (["missing.yaml"], "config not found: missing.yaml"),
        (["m.py:Net", "--input", "1x0"], "malformed --input '1x0'"),
        (["m.py:Net", "--columns", "bogus"], "--columns: unknown column(s) bogus"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text("")
    result = run_cli("watch", *args)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and message in lines[0], lines


# --- the screen, on hand-built records ------------------------------------------------------


def test_marks_follow_the_diff() -> None:
    old = report_of(small_cnn_layers())
    rows = list(small_cnn_layers())
    # head.2: Linear(16, 5) instead of Linear(16, 10): 16·5 + 5 = 85 params.
    rows[8] = dataclasses.replace(rows[8], output_shapes=((1, 5),), params=85, trainable_params=85)
    rows[5] = dataclasses.replace(rows[5], output_shapes=((1, 5),))
    rows[0] = dataclasses.replace(rows[0], output_shapes=((1, 5),))
    new = report_of(tuple(rows), outputs=((1, 5),))
    diff = compare_reports(old, new)
    assert change_marks(diff, new, new) == {0: "changed", 5: "changed", 8: "changed"}
    text = render_watch_run(new, RenderOptions(width=100), change_marks(diff, new, new))
    assert re.search(r"2\s+Linear ◀ changed|2 ◀ changed\s+Linear", text)
    footer = change_footer(diff)
    assert "Output: [1, 10] -> [1, 5]" in footer
    assert footer[-1].startswith("Since the last run: Changed: head ")


def test_a_hidden_row_marks_the_row_that_shows_it() -> None:
    from netinspect.analysis.layers import fold_to_depth

    old = report_of(small_cnn_layers())
    rows = list(small_cnn_layers())
    rows[2] = dataclasses.replace(rows[2], params=224)  # features.0 gets more weights
    new = report_of(tuple(rows))
    shown = fold_to_depth(new, 1)
    # features.0 (index 2) is folded into features (index 1).
    assert change_marks(compare_reports(old, new), new, shown) == {1: "changed"}


def test_added_rows_read_new_and_removed_rows_are_listed() -> None:
    old = report_of(small_cnn_layers())
    rows = [r for r in small_cnn_layers() if r.name != "head.1"]
    rows.insert(4, layer(9, "extra", 1, (1, 4, 8, 8), (1, 4, 8, 8), type="ReLU"))
    new = report_of(tuple(rows))
    diff = compare_reports(old, new)
    assert change_marks(diff, new, new) == {9: "new"}
    footer = change_footer(diff)
    assert "removed head.1: Dropout [1, 16] -> [1, 16]" in footer
    assert change_footer(compare_reports(old, old)) == ["Since the last run: no differences."]


def test_local_files_and_stamps(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("x = 1\n")
    assert is_local_file(str(mine))
    assert not is_local_file(os.__file__)  # the standard library
    assert not is_local_file(pytest.__file__)  # an installed package
    assert not is_local_file(str(tmp_path / "absent.py"))
    before = stamps([str(mine)])
    assert changed_files(before) == []
    mine.write_text("x = 22\n")
    assert changed_files(before) == [str(mine)]
    mine.unlink()
    assert changed_files(before) == [str(mine)]


def test_traceback_files_name_the_local_file_that_failed(tmp_path: Path) -> None:
    bad = tmp_path / "bad_sibling.py"
    bad.write_text("def f(:\n")
    try:
        compile(bad.read_text(), str(bad), "exec")
    except SyntaxError as exc:
        files = traceback_files(exc)
    assert str(bad.resolve()) in files
    assert __file__ in files  # this frame: a local file too
