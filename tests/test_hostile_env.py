"""Hostile models, files and environments: each refusal is one line with a documented exit
code, and what a model does during its forward (threads, forks, prints, chdir, set-default-
device) cannot change what netinspect writes or where."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import UsageError
from netinspect.pipeline.run import inspect_model
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


# --- sizes with a huge hint ------------------------------------------------------------------
def test_a_huge_hint_keeps_the_default_window_within_the_limit() -> None:
    from netinspect.pipeline.sizes import find_sizes

    start = time.perf_counter()
    report = find_sizes(
        f"{MODELS / 'sizes_models.py'}:FullyConv", "1x3xHxW", hints={"H": 99_999_999}
    )
    assert time.perf_counter() - start < 60  # minutes before: every size up to 2x the hint
    h = report.dims[0]
    assert (h.label, h.minimum, h.maximum, h.probed_up_to) == ("H", 5, None, 100_000)
    # Kernel 5, no padding: every H >= 5 is accepted, so the window's accepted run is 5..100000.
    assert h.accepted == ((5, 100_000),)


def test_members_up_to_generates_rather_than_scans() -> None:
    from netinspect.analysis.intsets import contains, members_up_to
    from netinspect.records import Progression

    parts = [Progression(3, 4, 39), Progression(10, 1, 12), Progression(10**12, 1, 10**12)]
    start = time.perf_counter()
    assert members_up_to(parts, 10**12)[-1] == 10**12
    assert time.perf_counter() - start < 5
    small = members_up_to(parts, 40)
    assert small == [x for x in range(1, 41) if contains(parts, x)]


# --- what a forward does to the process around it ----------------------------------------------
HOSTILE = MODELS / "hostile_forward.py"
CLI = [sys.executable, "-m", "netinspect_cli.main"]


def run_cli(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def test_a_thread_started_by_forward_does_not_hold_the_exit() -> None:
    start = time.perf_counter()
    done = run_cli(f"{HOSTILE}:StartsThread", "-i", "1x4", timeout=25)  # the thread sleeps 30 s
    assert done.returncode == 0, done.stderr
    assert "Total params" in done.stdout or "params" in done.stdout
    assert time.perf_counter() - start < 25


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_a_model_thread_runs(signum: int, code: int) -> None:
    proc = subprocess.Popen(
        [*CLI, f"{HOSTILE}:ThreadThenSleeps", "-i", "1x4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "forward started"
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=20)  # the model's thread sleeps 30 s: not waited for
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.strip().splitlines()[-1] in ("netinspect: terminated", "netinspect: interrupted")


def test_a_forking_forward_writes_the_report_once() -> None:
    done = run_cli(f"{HOSTILE}:Forks", "-i", "1x4", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == 4 * 3 + 3


def test_prints_from_forward_go_to_stderr_and_closing_stdout_is_harmless() -> None:
    result = runner.invoke(app, ["inspect", f"{HOSTILE}:Prints", "-i", "1x4", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    assert "hello from forward" in result.stderr and "raw write" in result.stderr
    done = run_cli(f"{HOSTILE}:ClosesStdout", "-i", "1x4", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == 15


def test_chdir_in_forward_does_not_move_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = run_cli(f"{HOSTILE}:ChangesDirectory", "-i", "1x4", "-o", "out.json")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["totals"]["params"] == 15
    assert done.stderr.strip() == "netinspect: wrote json report to out.json"
    assert os.getcwd() == str(tmp_path)


@pytest.mark.parametrize("device", ["cpu", "meta", "auto"])
def test_set_default_device_in_forward_is_put_back(device: str) -> None:
    sys.path.insert(0, str(MODELS))
    try:
        from hostile_forward import SetsDefaultDevice
    finally:
        sys.path.remove(str(MODELS))
    report = inspect_model(SetsDefaultDevice(), ["1x4"], device=device)
    assert report.totals.params == 15
    assert torch.get_default_device() == torch.device("cpu")
    assert torch.empty(1).device.type == "cpu"
    done = run_cli(f"{HOSTILE}:SetsDefaultDevice", "-i", "1x4", "--device", device)
    assert done.returncode == 0, done.stderr


# --- module trees that break netinspect's walks -------------------------------------------------
def hostile_class(name: str) -> Any:
    sys.path.insert(0, str(MODELS))
    try:
        import hostile_forward
    finally:
        sys.path.remove(str(MODELS))
    return getattr(hostile_forward, name)


def test_a_getattr_that_raises_key_error_is_not_an_internal_error() -> None:
    result = runner.invoke(app, ["inspect", f"{HOSTILE}:GetattrRaises", "-i", "1x4", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    # In forward, the same __getattr__ is the model's failure: exit 3, the model's error named.
    result = runner.invoke(app, ["inspect", f"{HOSTILE}:GetattrRaisesInForward", "-i", "1x4"])
    assert result.exit_code == 3, result.stderr
    assert "KeyError" in result.stdout + result.stderr and "internal error" not in result.stderr


def test_a_named_modules_that_raises_is_a_usage_error() -> None:
    result = runner.invoke(app, ["inspect", f"{HOSTILE}:NamedModulesRaises", "-i", "1x4"])
    line = one_line_error(result)
    assert "its named_modules() raised RuntimeError: named_modules is broken" in line


@pytest.mark.parametrize("name", ["OwnChild", "Cycle"])
@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("dtype", [None, "float16"])
def test_module_cycles_are_walked_once_as_torch_does(
    name: str, device: str, dtype: str | None
) -> None:
    model = hostile_class(name)()
    report = inspect_model(model, ["1x4"], device=device, dtype=dtype)
    assert report.totals.params == 15  # named_parameters lists the Linear's 12 + 3 once
    assert [r.name for r in report.layers if r.type == "Linear"] == [
        "fc" if name == "OwnChild" else "b.fc"
    ]
    assert all(m.training for m in model.modules())  # flags put back, without recursion
    assert next(model.parameters()).device.type == "cpu"
    args = ["inspect", f"{HOSTILE}:{name}", "-i", "1x4", "-f", "json", "--device", device]
    result = runner.invoke(app, args + (["--dtype", dtype] if dtype else []))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15


# --- the API's real-tensor inputs -----------------------------------------------------------------
@pytest.mark.parametrize("device", ["auto", "cpu", "meta"])
def test_forward_never_mutates_the_callers_tensor(device: str) -> None:
    x = torch.ones(1, 4)
    report = inspect_model(hostile_class("MutatesInput")(), x, device=device)
    assert report.totals.params == 15
    assert torch.equal(x, torch.ones(1, 4))
    nested = {"x": torch.ones(1, 4)}
    inspect_model(hostile_class("MutatesInput")(), nested, device=device)
    assert torch.equal(nested["x"], torch.ones(1, 4))


def test_a_given_tensor_is_cast_with_the_parameters() -> None:
    x = torch.zeros(1, 3, 8, 8)
    report = inspect_model(torch.nn.Conv2d(3, 4, 3), x, dtype="float16", device="cpu")
    assert report.inputs[0].dtype == "float16"
    assert report.layers[0].output_shapes == ((1, 4, 6, 6),)  # 8 - 3 + 1
    assert x.dtype == torch.float32  # the caller's tensor is not cast in place
    ids = torch.zeros(1, 5, dtype=torch.int64)  # integer inputs keep their dtype
    report = inspect_model(torch.nn.Embedding(10, 4), ids, dtype="float16", device="cpu")
    assert report.inputs[0].dtype == "int64"


# --- --weights that is not a file ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["directory", "FIFO"])
def test_weights_that_are_not_a_file_say_what_they_are(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "w.pt"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # opening it would block until a writer came
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(path)])
    assert f"is a {kind}, not a file" in one_line_error(result)


# --- the same target listed many times ---------------------------------------------------------
def test_a_target_listed_5000_times_is_inspected_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "net.py"
    model.write_text((MODELS / "sources.py").read_text())
    targets = ", ".join(['"net.py:Tiny"'] * 5000)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.netinspect]\ntargets = [{targets}]\n[tool.netinspect.inputs]\n"net.py:Tiny" = "1x4"\n'
    )
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    result = runner.invoke(app, ["snapshot"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("wrote baseline") == 1
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.stderr
    assert "1 target(s) checked" in result.stdout + result.stderr
    assert time.perf_counter() - start < 60


# --- output channels ----------------------------------------------------------------------------
def test_closed_stdout_is_one_line_exit_2() -> None:
    done = subprocess.run(
        [*CLI, TINY, "-i", "1x4"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, timeout=60, check=False,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "netinspect: error: cannot write the output: stdout is closed (give -o FILE)"
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_one_line_exit_2() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*CLI, TINY, "-i", "1x4"], stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "netinspect: error: cannot write the output to stdout: No space left on device"
    )


def test_a_latin1_stdout_gets_ascii_spellings() -> None:
    from netinspect_cli.app import for_stream

    class Latin1:
        encoding = "latin-1"

    assert (
        for_stream("H ≥ 5, ⌊(H − 1)/2⌋ × 3 → ok", Latin1()) == "H >= 5, floor((H - 1)/2) x 3 -> ok"
    )
    assert for_stream("plain", Latin1()) == "plain"
    assert for_stream("名前", Latin1()) == "\\u540d\\u524d"
    sizes = f"{MODELS / 'sizes_models.py'}:FullyConv"
    done = subprocess.run(
        [*CLI, "sizes", sizes, "-i", "1x3xHxW"], capture_output=True, timeout=120, check=False,
        env={**os.environ, "PYTHONIOENCODING": "latin-1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("latin-1")
    assert "H, W >= 5" in text and "≥" not in text
