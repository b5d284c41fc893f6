"""The device-fallback policy (``pipeline.device``, ``capture.bridge``): each kind of meta
limit is got past the cheapest way that works, said in one plain note; a model's own error is
never blamed on meta; value-dependent shapes are marked."""

from __future__ import annotations

from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

import netinspect.capture.bridge as bridge
import netinspect.pipeline.device as device
from netinspect.errors import ForwardFailed
from netinspect.pipeline.run import inspect_model

MODELS = Path(__file__).parent / "models" / "policy_models.py"
SOURCE = "tests/models/policy_models.py"
runner = CliRunner()


def target(name: str) -> str:
    return f"{MODELS}:{name}"


def line_of(text: str) -> int:
    """The line of ``text`` in the models file: notes name the model line that made the call."""
    lines = MODELS.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


@pytest.fixture
def small_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with 200 bytes free: the 3x8 float input (96 bytes) fits in 80% of it, the
    model with its 45 parameters (180 bytes) beside it does not."""
    monkeypatch.setattr(device, "_available_memory", lambda dev: 200)


# --- values read from the inputs: real inputs beside meta weights ----------------------------
def test_a_mask_read_as_a_bool_runs_with_real_inputs_and_meta_weights() -> None:
    report = inspect_model(target("MaskAny"), ["x=2x8", "mask=2x8:ones"])
    assert report.device == "meta"
    assert report.error is None
    assert report.notes == (
        f"meta cannot run `Tensor.item()`/`bool(tensor)` at {SOURCE}:{line_of('if mask.all()')}: "
        "it needs the values; ran with real inputs on cpu and the weights on meta",
    )
    assert report.outputs == ((2, 8),)
    assert report.totals.matmul_flops == 2 * 2 * 8 * 8  # one Linear(8, 8) on 2 rows


def test_explicit_meta_also_gets_past_the_mask() -> None:
    report = inspect_model(target("MaskAny"), ["x=2x8", "mask=2x8:ones"], device="meta")
    assert report.device == "meta" and report.error is None


# --- values computed from the weights: cpu when it fits, zeros standing in when not -----------
def test_nonzero_on_weights_runs_on_cpu_when_that_fits() -> None:
    report = inspect_model(target("NonzeroOnWeights"), ["3x8"])
    assert report.device == "cpu"
    at = f"{SOURCE}:{line_of('keep = torch.nonzero')}"
    assert report.notes == (
        f"meta cannot run `torch.nonzero` at {at}: its output shape depends on the values; "
        "ran on cpu (random init replaced by zeros)",
    )
    # Zero weights score every row 0 >= 0: all 3 kept. Another init keeps another count.
    assert report.outputs == ((3, 4),)
    assert report.data_dependent_outputs == (0,)
    head = next(r for r in report.layers if r.name == "head")
    assert head.data_dependent
    assert not next(r for r in report.layers if r.name == "score").data_dependent


def test_nonzero_on_weights_uses_zeros_when_cpu_cannot_fit(small_memory: None) -> None:
    report = inspect_model(target("NonzeroOnWeights"), ["3x8"])
    assert report.device == "meta"
    (note,) = report.notes
    assert note.startswith("meta cannot run `torch.nonzero`")
    assert "a cpu run needs about" in note and "more than 80% of the 200 B available" in note
    assert "zeros standing in for the unknown values" in note
    assert note.endswith("so shapes marked ~ (data-dependent) are examples")
    assert report.data_dependent_outputs == (0,)


def test_an_all_check_stands_in_as_true(small_memory: None) -> None:
    # Zeros stood in for every value, so `if not x.all(): raise` and torch.distributions'
    # argument validation (Normal's `_is_all_true`) failed the model's own checks.
    report = inspect_model(target("ChecksItsWeights"), ["3x8"])
    assert report.device == "meta" and report.error is None
    assert report.outputs == ((3, 4),)
    assert "zeros standing in for the unknown values" in report.notes[0]
    assert f"{SOURCE}:{line_of('if not torch.isfinite(std).all()')}" in report.notes[0]


def test_an_op_that_refuses_meta_values_is_not_blamed_on_the_model() -> None:
    # On zeros, pack_padded_sequence refuses lengths of 0 as well: that error was reported as
    # the model's own (exit 3) although the model runs. The values are needed instead.
    report = inspect_model(target("PackedLengths"), ["2x5x4"])
    assert report.error is None and report.outputs == ((2, 3),)
    (note,) = report.notes
    assert note.startswith("meta cannot run `torch._pack_padded_sequence` at ")
    assert "it needs the values" in note


def test_explicit_meta_never_builds_for_real() -> None:
    report = inspect_model(target("NonzeroOnWeights"), ["3x8"], device="meta")
    assert report.device == "meta"
    assert "zeros standing in" in report.notes[0]
    assert "cpu (random init" not in report.notes[0]


def test_when_nothing_fits_the_error_says_why_and_advises_nothing(
    monkeypatch: pytest.MonkeyPatch, small_memory: None
) -> None:
    monkeypatch.setattr(bridge, "STAND_IN_BYTES", 0)  # no stand-in is small enough
    with pytest.raises(ForwardFailed) as info:
        inspect_model(target("NonzeroOnWeights"), ["3x8"])
    report = info.value.report
    assert report.error is not None
    message = report.error.message
    assert message.startswith("meta cannot run `torch.nonzero`")
    assert "a cpu run needs about" in message
    assert "--device" not in message and report.error.hint is None
    assert report.notes == ()


def test_explicit_meta_advises_auto_only_when_auto_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "STAND_IN_BYTES", 0)
    with pytest.raises(ForwardFailed) as info:
        inspect_model(target("NonzeroOnWeights"), ["3x8"], device="meta")
    error = info.value.report.error
    assert error is not None and error.message.endswith("; --device auto runs it on cpu")
    # ... and the advice holds.
    assert inspect_model(target("NonzeroOnWeights"), ["3x8"], device="auto").device == "cpu"


def test_a_write_of_meta_values_into_a_real_tensor_goes_on_to_cpu() -> None:
    report = inspect_model(target("WritesIntoInput"), ["2x8"])
    assert report.device == "cpu"
    (note,) = report.notes
    assert f"meta cannot run `torch.add_` at {SOURCE}:{line_of('total.add_')}" in note
    assert "writes values computed from meta weights into a real tensor" in note
    assert note.endswith("ran on cpu (random init replaced by zeros)")


# --- kernels: got past in place, no retry --------------------------------------------------
@pytest.mark.skipif(
    not hasattr(torch, "_grouped_mm"), reason="torch._grouped_mm arrived in torch 2.9"
)
def test_grouped_mm_in_float32_runs_in_bfloat16_on_meta_and_is_counted() -> None:
    report = inspect_model(target("GroupedExperts"), ["4x8"])
    assert report.device == "meta"
    assert report.outputs == ((4, 16),)
    (row,) = [r for r in report.layers if r.name == "_grouped_mm"]
    assert row.output_dtypes == ("float32",)
    # Hand count: each of the 4 rows meets one expert's 8x16 matrix: 4 * 8 * 16 MACs.
    assert row.macs == 4 * 8 * 16 and row.flops == 2 * 4 * 8 * 16
    assert report.notes == (
        f"`torch._grouped_mm` at {SOURCE}:{line_of('return torch._grouped_mm')} ran in bfloat16 on "
        "meta and was cast back (its meta kernel takes only some dtypes)",
    )


def test_an_op_without_a_meta_kernel_runs_on_cpu_zeros_and_stays_on_meta() -> None:
    report = inspect_model(target("NoMetaKernel"), ["2x8"])
    assert report.device == "meta" and report.outputs == ((2, 8),)
    assert report.notes == (
        f"`netinspect_tests::double` at {SOURCE}:{line_of('return double(')} has no meta "
        "kernel: it ran on cpu on zeros of the same shapes",
    )


# --- constructors that need values -----------------------------------------------------------
@pytest.mark.parametrize("name", ["CopiesToCpu", "BigCopiesToCpu", "ItemInInit"])
def test_constructors_that_need_values_still_build_on_meta(name: str) -> None:
    report = inspect_model(target(name), ["2x8"])
    assert report.device == "meta" and report.error is None
    expected_params = {"ItemInInit": 3 * (8 * 8 + 8)}.get(name, 8 * 4 + 4)
    assert report.totals.params == expected_params
    assert report.outputs == ((2, 8),) if name == "ItemInInit" else ((2, 4),)


# --- the model's own errors: exit 3, nothing about meta --------------------------------------
@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("NoForward", 'is missing the required "forward" function'),
        ("UserError", "this model refuses every input"),
    ],
)
def test_a_models_own_error_is_a_forward_failure_with_no_meta_note(name: str, words: str) -> None:
    result = runner.invoke(app, ["inspect", target(name), "--input", "2x8"])
    assert result.exit_code == 3
    assert words in result.stderr
    assert "meta" not in result.stderr.replace("device meta", "")
    with pytest.raises(ForwardFailed) as info:
        inspect_model(target(name), ["2x8"])
    assert info.value.report.notes == ()
    assert info.value.report.device == "meta"


# --- data-dependent marks in the table and the JSON ------------------------------------------
def test_data_dependent_shapes_are_marked_in_the_table_and_json() -> None:
    table = runner.invoke(app, ["inspect", target("NonzeroOnWeights"), "--input", "3x8"])
    assert table.exit_code == 0
    head = next(line for line in table.stdout.splitlines() if " head " in line)
    assert "~[3,4]" in head
    assert "~ marks a shape that depends on tensor values" in table.stdout
    assert "Output                ~[3, 4]" in table.stdout
    js = runner.invoke(app, ["inspect", target("NonzeroOnWeights"), "-i", "3x8", "-f", "json"])
    import json

    data = json.loads(js.stdout)
    assert data["data_dependent_outputs"] == [0]
    assert {r["name"] for r in data["layers"] if r["data_dependent"]} >= {"head"}
    assert not next(r for r in data["layers"] if r["name"] == "score")["data_dependent"]


def test_mark_propagation_stops_at_in_place_writes_and_scalars() -> None:
    mode = bridge.MetaBridge()
    with mode:
        x = torch.tensor([[1.0, -1.0], [2.0, 3.0]])
        keep = torch.nonzero(x > 0)  # [3, 2]: data-dependent
        picked = x[keep[:, 0]]  # follows from it
        total = torch.zeros(2)
        total.index_add_(0, keep[:, 0], torch.ones(3))  # written in place: its shape is fixed
        count = keep.sum()  # 0-dim: fixed
        # Row counts read in Python and used to size new tensors (torchvision's keypoints).
        by_len = torch.zeros((len(keep), 3, 17))
        by_shape = torch.zeros(keep.shape[0], 17)
        by_columns = torch.zeros(keep.shape[1])  # nonzero's 2 columns: fixed
    assert mode.is_data_dependent(keep) and mode.is_data_dependent(picked)
    assert not mode.is_data_dependent(total) and not mode.is_data_dependent(count)
    assert not mode.is_data_dependent(x)
    assert mode.is_data_dependent(by_len) and mode.is_data_dependent(by_shape)
    assert not mode.is_data_dependent(by_columns)
