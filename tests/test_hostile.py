"""Hostile input: a clear one-line error and exit 2, never a traceback, and nothing lost."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import InputSpecError, InputTooLarge, UsageError
from netinspect.pipeline.run import inspect_model
from netinspect.specs import parse_forward_arg, parse_input_spec, parse_input_specs

MODELS = Path(__file__).parent / "models"
TINY = f"{MODELS / 'sources.py'}:Tiny"
INTERRUPTED = f"{MODELS / 'interrupting.py'}:Interrupted"
runner = CliRunner()

# Characters the grammar cares about, mixed with anything else hypothesis likes.
SPEC_ALPHABET = st.sampled_from([*"0123456789xX×,:=[]-+. _abfint", "\n", "\t", "٣", "\x00"])
spec_strings = st.one_of(st.text(SPEC_ALPHABET, max_size=30), st.text(max_size=30))


def assert_one_line_usage_error(result, *, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# --- the --input parser ---------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(spec_strings)
def test_input_parser_only_raises_input_spec_error(text: str) -> None:
    try:
        spec = parse_input_spec(text)
    except InputSpecError as exc:
        assert str(exc).startswith("malformed --input")
        return
    # Whatever parses is well formed: positive dims, or names (symbolic dims) that are
    # identifiers without the separator x.
    values = spec.value if isinstance(spec.value, tuple) else (spec.value,)
    for t in values:
        for d in t.shape:
            if isinstance(d, int):
                assert d > 0
            else:
                assert d.isidentifier() and not set(d) & set("xX"), d


@settings(max_examples=200, deadline=None)
@given(st.lists(spec_strings, max_size=4))
def test_input_list_parser_only_raises_input_spec_error(texts: list[str]) -> None:
    with contextlib.suppress(InputSpecError):
        parse_input_specs(texts)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_forward_arg_parser_only_raises_usage_error(text: str) -> None:
    try:
        name, value = parse_forward_arg(text)
    except UsageError:
        return
    assert name.isidentifier()
    assert value is None or isinstance(value, (bool, int, float, str))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec_strings)
def test_cli_rejects_random_specs_in_one_line(text: str) -> None:
    try:
        parse_input_spec(text)
        assume(False)  # a well-formed spec is not hostile
    except InputSpecError:
        pass
    assume(not text.startswith("-"))  # would be read as an option, not as the --input value
    result = runner.invoke(app, ["inspect", TINY, "--input", text])
    line = assert_one_line_usage_error(result)
    assert line.startswith("netinspect: error: malformed --input")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("1x0x4", "got 0"),
        ("0", "got 0"),
        ("-1x4", "negative"),
        ("1x-4", "negative"),
        ("[3x0x5]", "got 0"),
        ("x=1x0", "got 0"),
    ],
)
def test_zero_and_negative_dims(spec: str, reason: str) -> None:
    with pytest.raises(InputSpecError, match=reason):
        parse_input_spec(spec)
    result = runner.invoke(app, ["inspect", TINY, f"--input={spec}"])
    assert reason in assert_one_line_usage_error(result)


# --- absurd sizes -----------------------------------------------------------------------------
ABSURD = "1x3x100000x100000"


def test_absurd_input_is_refused_on_cpu_with_the_estimate() -> None:
    with pytest.raises(InputTooLarge) as info:
        inspect_model("resnet18", [ABSURD], device="cpu")
    # The input, 3 * 10^10 float32 values (1.2e11 bytes), resnet18's ~47 MB of weights, and
    # twice the largest activation: conv1 (k7, s2, p3) gives 50000 x 50000, 64 channels.
    found = re.search(r"needs about ([\d,.]+) (GiB|TiB)", str(info.value))
    assert found is not None
    got = float(found.group(1).replace(",", "")) * (2**30 if found.group(2) == "GiB" else 2**40)
    side = (100_000 + 2 * 3 - 7) // 2 + 1
    expected = 3 * 100_000**2 * 4 + 11_689_512 * 4 + 2 * 64 * side**2 * 4
    assert abs(got - expected) / expected < 0.005
    result = runner.invoke(app, ["inspect", "resnet18", "-i", ABSURD, "--device", "cpu"])
    assert "needs about" in assert_one_line_usage_error(result)


@pytest.mark.parametrize("device", ["meta", "auto"])
def test_absurd_input_is_fine_on_meta(device: str) -> None:
    report = inspect_model("resnet18", [ABSURD], device=device)
    assert report.device == "meta"
    assert report.outputs == ((1, 1000),)
    # conv1 (7x7, stride 2, padding 3): floor((100000 + 6 - 7) / 2) + 1 = 50000.
    conv1 = next(row for row in report.layers if row.name == "conv1")
    assert conv1.output_shapes == ((1, 64, 50_000, 50_000),)


# --- weights files --------------------------------------------------------------------------
def _tiny_state() -> dict[str, torch.Tensor]:
    return {"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(3)}


def test_good_weights_load(tmp_path: Path) -> None:
    path = tmp_path / "good.pt"
    torch.save(_tiny_state(), path)
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(path)])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("list", "not a state dict"),
        ("numbers", "not a state dict"),
        ("truncated", "a truncated zip archive"),
        ("garbage", "cannot read weights file"),
        ("empty", "cannot read weights file"),
        ("missing", "not found"),
    ],
)
def test_bad_weights_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "weights.pt"
    if content == "list":
        torch.save([torch.zeros(3)], path)
    elif content == "numbers":
        torch.save({"fc.weight": 1, "fc.bias": 2}, path)
    elif content == "truncated":
        torch.save(_tiny_state(), path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "garbage":
        path.write_bytes(b"\x80\x04this is not a checkpoint" * 10)
    elif content == "empty":
        path.write_bytes(b"")
    elif content == "wrong_shapes":
        torch.save({"fc.weight": torch.zeros(5, 5), "fc.bias": torch.zeros(5)}, path)
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(path)])
    assert expected in assert_one_line_usage_error(result)


def test_wrong_shapes_print_the_table_on_stdout_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.zeros(5, 5), "fc.bias": torch.zeros(5)}, path)
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(path)])
    assert result.exit_code == 2
    assert "do not match the model: 0 of 2 tensors match" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "fc.weight  [5, 5] float32  [3, 4] float32  shape mismatch" in result.stdout


# --- a .py target that raises on import -------------------------------------------------------
def test_py_target_raising_on_import() -> None:
    with pytest.raises(UsageError, match="this file refuses to load"):
        inspect_model(f"{MODELS / 'broken_import.py'}:Model", ["1x4"])
    result = runner.invoke(app, ["inspect", f"{MODELS / 'broken_import.py'}:Model", "-i", "1x4"])
    line = assert_one_line_usage_error(result)
    assert "ValueError: this file refuses to load" in line


# --- Ctrl-C -----------------------------------------------------------------------------------
def _interrupted_model() -> torch.nn.Module:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "_hostile_interrupting", MODELS / "interrupting.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Interrupted()  # type: ignore[no-any-return]


def test_ctrl_c_leaves_the_model_as_it_was() -> None:
    model = _interrupted_model()
    model.train()
    model.second.eval()  # a mixed state must come back exactly
    before = {name: m.training for name, m in model.named_modules()}
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(KeyboardInterrupt):
        inspect_model(model, torch.zeros(1, 4))
    assert {name: m.training for name, m in model.named_modules()} == before
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert torch.overrides._get_current_function_mode_stack() == []
    assert torch.is_grad_enabled()


def test_ctrl_c_exit_130(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("old report\n")
    result = runner.invoke(app, ["inspect", INTERRUPTED, "-i", "1x4", "--output", str(out)])
    assert result.exit_code == 130
    assert result.stderr.strip() == "netinspect: interrupted"
    assert out.read_text() == "old report\n"


# --- --output is atomic -----------------------------------------------------------------------
def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "report.json")


def test_output_written(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("old report\n")
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.read_text().lstrip().startswith("{")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("failure", "code"), [(OSError(28, "No space left on device"), 2), (KeyboardInterrupt(), 130)]
)
def test_output_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException, code: int
) -> None:
    out = tmp_path / "report.json"
    out.write_text("old report\n")

    def fail_mid_write(fd: int) -> None:
        # The temp file holds part of the report when the disk fills or the user hits Ctrl-C.
        raise failure

    monkeypatch.setattr(os, "fsync", fail_mid_write)
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-f", "json", "-o", str(out)])
    monkeypatch.undo()
    assert result.exit_code == code
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert out.read_text() == "old report\n"
    assert _leftovers(tmp_path) == []  # the temp file is gone too


def test_output_into_a_file_path_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-o", str(blocker / "r.json")])
    assert "cannot write" in assert_one_line_usage_error(result)


def test_real_device_refusal_counts_activations(monkeypatch: pytest.MonkeyPatch) -> None:
    import netinspect.pipeline.device as device
    from netinspect.errors import InputTooLarge
    from netinspect.pipeline.run import inspect_model

    # 2 GiB free: resnet18's input (3*4000*4000*4 = 192 MB) and weights (47 MB) would fit,
    # but conv1 allocates 64*2000*2000*4 = 1.02 GB, twice that with its input alive.
    monkeypatch.setattr(device, "_available_memory", lambda dev: 2 * 1024**3)
    with pytest.raises(InputTooLarge, match="largest activations"):
        inspect_model("resnet18", ["1x3x4000x4000"], device="cpu")


def test_a_target_that_calls_sys_exit_on_import(tmp_path: Path) -> None:
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(5)\n")
    from netinspect.errors import UsageError
    from netinspect.sources.resolve import resolve_target

    with pytest.raises(UsageError, match=r"importing .*exits.py called sys.exit\(5\)"):
        resolve_target(f"{tmp_path / 'exits.py'}:Net")


def test_a_whole_pickled_model_gets_an_actionable_message(tmp_path: Path) -> None:
    import torch

    from netinspect.errors import WeightsError
    from netinspect.pipeline.run import inspect_model
    from tests.models.core_models import Reuse

    path = tmp_path / "whole.pt"
    torch.save(Reuse(), path)
    with pytest.raises(WeightsError) as info:
        inspect_model("tests/models/core_models.py:Reuse", ["1x8"], weights=str(path))
    message = str(info.value)
    assert "holds Python objects (tests.models.core_models.Reuse)" in message
    assert "save model.state_dict() instead" in message
    assert "\x1b[" not in message and "weights_only=False" not in message
