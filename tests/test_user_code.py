"""Model code that misbehaves: it exits, raises BaseExceptions or unprintable errors, or changes
the model it belongs to. Each is the model's failure (exit 3), never a silent success, a
traceback or an internal error; KeyboardInterrupt stays the user's (exit 130)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import ForwardFailed, UsageError
from netinspect.pipeline.run import inspect_model
from tests.models import user_code

MODELS = Path(__file__).parent / "models"
USER = MODELS / "user_code.py"


def target(name: str) -> str:
    return f"{USER}:{name}"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def one_stderr_line(result: Any) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- escapes from forward() -------------------------------------------------------------------


def test_sys_exit_in_forward_is_a_forward_failure() -> None:
    result = run("inspect", target("Exits"), "--input", "1x4")
    assert result.exit_code == 3, result.output
    assert one_stderr_line(result) == (
        "netinspect: error: forward pass failed: Exits (root) called sys.exit(0)"
    )
    assert "✖ failed here" in result.stdout  # the partial table is still the payload


def test_sys_exit_is_blamed_on_the_module_that_called_it() -> None:
    with pytest.raises(ForwardFailed) as caught:
        inspect_model(user_code.InnerExit(), torch.zeros(1, 4))
    error = caught.value.report.error
    assert error is not None
    assert (error.name, error.type, error.exception_type) == ("inner", "Exits", "SystemExit")
    assert error.message == "Exits inner called sys.exit(0)"
    # The Linear inside ran before the exit and is a finished row.
    fc = next(r for r in caught.value.report.layers if r.name == "inner.fc")
    assert fc.output_shapes == ((1, 4),)


def test_a_custom_base_exception_is_a_forward_failure() -> None:
    result = run("inspect", target("RaisesBase"), "--input", "1x4", "--format", "json")
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert (error["exception_type"], error["exception_message"]) == ("Custom", "boom")
    assert one_stderr_line(result).endswith("RaisesBase (root) raised Custom: boom")


def test_keyboard_interrupt_in_forward_stays_exit_130() -> None:
    result = run("inspect", target("Interrupts"), "--input", "1x4")
    assert result.exit_code == 130
    assert one_stderr_line(result) == "netinspect: interrupted"


@pytest.mark.parametrize(
    ("name", "ending"),
    [
        ("Exits", "Exits (root) called sys.exit(0)"),
        ("RaisesBase", "RaisesBase (root) raised Custom: boom"),
        (
            "RaisesUnprintable",
            "raised UnprintableError: <UnprintableError.__str__ raised RuntimeError>",
        ),
    ],
)
def test_sizes_symbolic_pass_reports_an_escape_as_a_forward_failure(name: str, ending: str) -> None:
    # The symbolic pass (sizes' default method) let sys.exit() end the run as exit 0 with no
    # output, and a custom BaseException out as a traceback.
    result = run("sizes", target(name), "--input", "1x4")
    assert result.exit_code == 3, result.output
    assert one_stderr_line(result).endswith(ending)
    assert "the given input fails" in result.stdout


def test_sizes_keyboard_interrupt_in_forward_stays_exit_130() -> None:
    result = run("sizes", target("Interrupts"), "--input", "1x4")
    assert result.exit_code == 130
    assert one_stderr_line(result) == "netinspect: interrupted"


def test_an_exception_whose_str_raises_is_a_forward_failure() -> None:
    result = run("inspect", target("RaisesUnprintable"), "--input", "1x4", "--format", "json")
    assert result.exit_code == 3, result.output
    line = one_stderr_line(result)
    assert "internal error" not in line
    assert line.endswith("raised UnprintableError: <UnprintableError.__str__ raised RuntimeError>")
    error = json.loads(result.stdout)["error"]
    assert error["exception_message"] == "<UnprintableError.__str__ raised RuntimeError>"


# --- snapshot and check: the failing target is reported, the others still run -------------------

GOOD = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        {body}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(GOOD.format(body="return self.fc(x)"))
    return tmp_path


def test_snapshot_of_an_exiting_model_writes_nothing_and_exits_3(project: Path) -> None:
    (project / "a.py").write_text(GOOD.format(body="import sys; sys.exit(0)"))
    result = run("snapshot", "a.py:Net", "b.py:Net", "--input", "1x4")
    assert result.exit_code == 3, result.output
    assert "a.py:Net: forward pass failed" in result.stderr or "called sys.exit(0)" in result.stderr
    written = sorted(p.name for p in (project / ".netinspect").iterdir())
    assert len(written) == 1 and written[0].startswith("b.py")  # only b's baseline


@pytest.mark.parametrize(
    "body", ["import sys; sys.exit(0)", "raise KeyError('gone')"], ids=["exit", "raise"]
)
def test_check_of_a_failing_forward_exits_3_and_checks_the_rest(project: Path, body: str) -> None:
    assert run("snapshot", "a.py:Net", "b.py:Net", "--input", "1x4").exit_code == 0
    (project / "a.py").write_text(GOOD.format(body=body))
    result = run("check", "a.py:Net", "b.py:Net", "--format", "json")
    assert result.exit_code == 3, result.output
    results = json.loads(result.stdout)["results"]
    # A forward pass that raises is "failed" (exit 3), not a shape regression.
    assert [(r["target"], r["status"]) for r in results] == [
        ("a.py:Net", "failed"),
        ("b.py:Net", "ok"),
    ]
    changed = {c["field"] for c in results[0]["diff"]["changes"]}
    assert "error" in changed


# --- the number of positional inputs, against forward()'s signature ----------------------------


def test_too_many_positional_inputs_is_a_usage_error_with_the_signature() -> None:
    result = run("inspect", "vgg16", "--input", "1x3x32x32", "--input", "1x3x32x32")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # no empty table: refused before the pass
    assert one_stderr_line(result) == (
        "netinspect: error: VGG.forward(x) takes 1 positional input, got 2 (one per --input)"
    )


def test_too_few_positional_inputs_names_the_missing_ones() -> None:
    result = run("inspect", target("Pair"), "--input", "1x4")
    assert result.exit_code == 2, result.output
    assert one_stderr_line(result).startswith(
        "netinspect: error: Pair.forward(a, b, scale=1.0) needs b, got 1 positional input"
    )
    # A keyword input fills the gap.
    assert run("inspect", target("Pair"), "--input", "1x4", "--input", "b=1x4").exit_code == 0


def test_sizes_checks_the_input_count_too() -> None:
    result = run("sizes", "vgg16", "--input", "1x3x32x32", "--input", "1x3x32x32")
    assert result.exit_code == 2, result.output
    assert "takes 1 positional input, got 2" in one_stderr_line(result)


def test_python_api_checks_the_count_of_real_tensors() -> None:
    from netinspect.errors import UsageError

    with pytest.raises(UsageError, match=r"needs b, got 1 positional input"):
        inspect_model(user_code.Pair(), [torch.zeros(1, 4)])


# --- deep module trees --------------------------------------------------------------------------


def test_a_240_deep_sequential_that_torch_runs_is_inspected() -> None:
    # A script runs this model at Python's default recursion limit (1000); a hooked pass
    # needs about twice the frames per level.
    model = user_code.nested(240)
    limit = sys.getrecursionlimit()
    report = inspect_model(model, torch.zeros(1, 4))
    assert len(report.layers) == 241
    assert [r.depth for r in report.layers] == list(range(241))
    assert report.layers[-1].type == "Linear" and report.totals.params == 20
    assert sys.getrecursionlimit() == limit  # raised for the pass only


def test_a_deep_sequential_from_the_cli() -> None:
    result = run("inspect", target("deep_240"), "--input", "1x4", "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["layers"]) == 241


def test_a_10k_deep_module_tree_is_refused_in_one_line() -> None:
    result = run("inspect", target("deep_10k"), "--input", "1x4")
    assert result.exit_code == 2, result.output
    assert one_stderr_line(result).endswith(
        "deep_10k nests modules more than 1,000 levels deep; netinspect inspects module trees "
        "up to 1,000 levels"
    )
    with pytest.raises(UsageError, match="more than 1,000 levels deep"):
        inspect_model(user_code.nested(10_000), torch.zeros(1, 4))


@pytest.mark.slow
def test_the_deepest_tree_allowed_is_inspected() -> None:
    report = inspect_model(user_code.nested(1000), ["1x4"])
    assert len(report.layers) == 1001


# --- a forward that changes its own model --------------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
def test_what_the_forward_changes_in_the_callers_module_is_put_back(training: bool) -> None:
    model = user_code.Mutates().train(training)
    weight = model.fc.weight.detach().clone()
    bias, last, count = model.fc.bias, model.last, model.count
    report = inspect_model(model, torch.ones(2, 4))
    assert [r.name for r in report.layers] == ["", "add_", "mul_", "sum", "fc"]
    # The pass saw the doubled weight; the caller's module has its own values back.
    assert model.training is training and model.fc.training is training
    assert torch.equal(model.fc.weight, weight) and model.count.item() == 0
    assert model.last is last and torch.equal(last, torch.zeros(4))  # the rebinding undone
    assert model.fc.bias is bias and model.count is count
    assert model.fc.weight.requires_grad


def test_only_what_was_written_is_copied() -> None:
    from netinspect.capture.guard import ModelStateGuard

    model = user_code.Mutates()
    with ModelStateGuard(model) as guard, torch.no_grad():
        model(torch.ones(1, 4))
        saved = {id(t) for t, _ in guard._saved.values()}
    assert saved == {id(model.fc.weight), id(model.count)}  # not fc.bias, not last


def test_a_meta_module_gets_its_bindings_back() -> None:
    with torch.device("meta"):
        model = user_code.Mutates().eval()
    last = model.last
    inspect_model(model, torch.ones(1, 4, device="meta"))
    assert model.last is last and not model.training


# --- dummy inputs for an Embedding ------------------------------------------------------------


def test_an_input_that_feeds_an_embedding_is_made_int64() -> None:
    report = inspect_model(target("Tokens"), ["text=1x10"])
    assert [(i.name, i.shape, i.dtype) for i in report.inputs] == [("text", (1, 10), "int64")]
    assert report.outputs == ((1, 10, 2),)
    assert report.notes == (
        "text=1x10 made int64 (text=1x10:int64): it feeds Embedding embed, which takes "
        "integer indices",
    )


def test_only_the_input_that_feeds_the_embedding_changes() -> None:
    report = inspect_model(target("TokensAndImage"), ["1x3x8x8", "text=1x10"])
    assert [i.dtype for i in report.inputs] == ["float32", "int64"]


def test_an_explicit_float_input_to_an_embedding_is_diagnosed() -> None:
    with pytest.raises(ForwardFailed) as caught:
        inspect_model(target("Tokens"), ["text=1x10:float32"])
    error = caught.value.report.error
    assert error is not None
    assert (
        error.message
        == "Embedding embed looks up token ids, which are integers, but got a float32 input [1,10]"
    )
    # The hint names the input that arrives there, as it is typed on the command line.
    assert (
        error.hint
        == "give the input an integer dtype: --input text=1x10:int64 (or .long() on a tensor)"
    )


# --- one-line descriptions of other code's exceptions ----------------------------------------
def test_a_reason_after_a_colon_is_kept_and_a_long_message_is_clipped() -> None:
    from netinspect.errors import MESSAGE_CHARS, describe_exception, first_line

    # huggingface_hub's validation errors name the validator, then the reason on the next line.
    exc = ValueError("Class validation error for validator 'check':\n    head size must be 0\nmore")
    assert describe_exception(exc) == (
        "ValueError: Class validation error for validator 'check': head size must be 0"
    )
    # transformers lists every model type it knows (over 800) on one line.
    long = ValueError("Should contain one of " + ", ".join(f"type{i}" for i in range(900)))
    line = describe_exception(long)
    assert len(line) == len("ValueError: ") + MESSAGE_CHARS and line.endswith("…")
    assert first_line(RuntimeError("one\ntwo")) == "one"
    assert describe_exception(RuntimeError("")) == "RuntimeError"


@pytest.mark.parametrize(
    ("forward", "ending"),
    [
        ("def forward(self, x):", "pass one, e.g. --input 1x3x224x224"),
        (
            "def forward(self, tokens, lengths=None):",
            "pass one per input of Net.forward(tokens, lengths), e.g. --input tokens=SHAPE",
        ),
    ],
)
def test_no_default_input_gives_an_example_that_fits_forward(
    tmp_path: Path, forward: str, ending: str
) -> None:
    (tmp_path / "net.py").write_text(
        f"from torch import nn\n\nclass Net(nn.Module):\n    {forward}\n        return tokens\n"
    )
    line = one_stderr_line(run("inspect", f"{tmp_path / 'net.py'}:Net"))
    assert line == f"netinspect: error: {tmp_path / 'net.py'}:Net has no default input: {ending}"
