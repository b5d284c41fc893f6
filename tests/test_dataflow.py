"""Data flow between rows: ``inputs_from``, the flatten point and its consumers by
data flow, parameters at the row that uses them, lazy modules. Each model reproduces one
pattern from real models; the expected rows and counts are worked out by hand in the models'
docstrings and comments (tests/models/dataflow_models.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import torch
from netinspect_cli.main import app
from torch import nn
from typer.testing import CliRunner

from netinspect import inspect_model
from netinspect.analysis.layers import collapse_repeats, fold_to_depth
from netinspect.deserialize import report_from_dict
from netinspect.records import InspectionReport, LayerRecord
from netinspect.render import OutputFormat, RenderOptions, render_report
from tests.conftest import MODELS
from tests.models import dataflow_models as dm
from tests.records_factory import layer, report_of

PLAIN = RenderOptions(width=100, color=False)


def inspect(model: nn.Module, spec: str, device: str = "meta") -> InspectionReport:
    return inspect_model(model, [spec], device=device)


def row(report: InspectionReport, name: str, call_index: int = 0) -> LayerRecord:
    (found,) = [r for r in report.layers if r.name == name and r.call_index == call_index]
    return found


def params_by_row(report: InspectionReport) -> dict[str, int]:
    return {r.name: r.params for r in report.layers if r.params}


def assert_rows_sum_to_total(report: InspectionReport) -> None:
    assert sum(r.params for r in report.layers) == report.totals.params
    assert report.totals.uncalled_params == 0


# --- inputs_from ----------------------------------------------------------------------------


def test_inputs_from_follows_tensors_through_in_place_ops() -> None:
    report = inspect(dm.Residual(), "1x4x2x2")
    conv, relu, add, sub, mul = (row(report, n) for n in ("conv", "relu", "add", "sub", "mul"))
    assert report.layers[0].inputs_from == ("input",)
    assert conv.inputs_from == ("input",)
    assert relu.inputs_from == (conv.index,)
    # ReLU(inplace=True) returns conv's tensor: the data passed through relu, so relu made it.
    assert add.inputs_from == (relu.index, "input")
    assert sub.inputs_from == (add.index, "buffer")
    assert mul.inputs_from == (sub.index, "const")  # torch.ones made in forward


def test_inputs_from_marks_parameters_and_a_container_keeps_its_childs_output() -> None:
    report = inspect(dm.TwoHeads(), "1x3x4x4")
    flatten, cls, relu, box = (row(report, n) for n in ("flatten", "cls", "cls.0", "box"))
    # Sequential hands flatten's output to its first child: both read row `flatten`.
    assert cls.inputs_from == relu.inputs_from == box.inputs_from == (flatten.index,)
    report = inspect(dm.LinearSubclassHead(), "1x3x4x4")
    assert row(report, "head.linear").inputs_from == (row(report, "drop").index, "param", "param")


def test_inputs_from_inside_torch_containers() -> None:
    # nn.TransformerEncoderLayer computes `x + self._sa_block(x)` itself (no rows): norm1 reads
    # a tensor derived from dropout1's output, linear1 reads norm1's.
    layer_ = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    report = inspect(layer_, "1x5x16")
    attn, drop1, norm1, lin1 = (
        row(report, n) for n in ("self_attn", "dropout1", "norm1", "linear1")
    )
    assert attn.inputs_from == ("input", "input", "input")
    assert drop1.inputs_from == (attn.index,)
    assert norm1.inputs_from == (drop1.index,)
    assert lin1.inputs_from == (norm1.index,)


def test_inputs_from_after_folding_names_visible_rows() -> None:
    report = inspect_model("resnet18", ["1x3x32x32"])
    folded = fold_to_depth(report, 1)
    visible = {r.index for r in folded.layers}
    by_name = {r.name: r for r in folded.layers}
    for r in folded.layers:
        assert r.inputs_from is not None and len(r.inputs_from) == len(r.input_shapes)
        assert all(s in visible for s in r.inputs_from if isinstance(s, int))
    # layer2's input was made inside layer1 (its last block's relu): layer1 stands for it.
    assert by_name["layer2"].inputs_from == (by_name["layer1"].index,)
    collapsed = collapse_repeats(report)
    visible = {r.index for r in collapsed.layers}
    assert all(
        s in visible for r in collapsed.layers for s in r.inputs_from or () if isinstance(s, int)
    )


def test_fold_remaps_hand_built_rows() -> None:
    rows = (
        dataclasses.replace(layer(0, "", 0, (1, 4), (1, 4), parent=None), inputs_from=("input",)),
        dataclasses.replace(layer(1, "a", 1, (1, 4), (1, 4)), inputs_from=("input",)),
        dataclasses.replace(layer(2, "a.x", 2, (1, 4), (1, 4), parent="a"), inputs_from=("input",)),
        dataclasses.replace(layer(3, "a.y", 2, (1, 4), (1, 4), parent="a"), inputs_from=(2,)),
        dataclasses.replace(layer(4, "b", 1, (1, 4), (1, 4)), inputs_from=(3,)),
    )
    folded = fold_to_depth(report_of(rows), 1)
    assert [(r.name, r.inputs_from) for r in folded.layers] == [
        ("", ("input",)), ("a", ("input",)), ("b", (1,)),
    ]  # fmt: skip


def test_inputs_from_round_trips_and_old_reports_have_none() -> None:
    report = inspect(dm.TwoClassTokens(), "2x4x16")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["layers"][3]["inputs_from"] == [2, 1]  # cat([tokens.expand, embed output])
    back = report_from_dict(data)
    assert back.layers == report.layers and back.flatten == report.flatten
    for d in data["layers"]:
        del d["inputs_from"]
    del data["flatten"]["consumers"]
    old = report_from_dict(data)
    assert all(r.inputs_from is None for r in old.layers)
    assert old.flatten is not None and old.flatten.consumers == (old.flatten.consumer,)
    assert "inputs_from" not in old.to_dict()["layers"][0]


# --- flatten point and consumers ------------------------------------------------------------


def test_two_class_tokens_feed_two_heads(report_validator: Any) -> None:
    report = inspect(dm.TwoClassTokens(), "2x4x16")
    report_validator.validate(report.to_dict())
    flat = report.flatten
    assert flat is not None
    a, b = row(report, "__getitem__", 0), row(report, "__getitem__", 1)
    assert (flat.layer_index, flat.operation) == (a.index, "selects")
    assert (flat.input_shape, flat.output_shape, flat.flattened_dims) == ((2, 6, 32), (2, 32), ())
    got = [(c.name, c.expected_in_features, c.matches, c.from_layer_index) for c in flat.consumers]
    assert got == [("head", 32, True, a.index), ("head_dist", 32, True, b.index)]
    assert flat.consumer == flat.consumers[0]
    # embed 16*32+32, tokens 2*32 (the root's own), norm 2*32, two heads 32*10+10 each.
    assert params_by_row(report) == {
        "": 64,
        "embed": 544,
        "norm": 64,
        "head": 330,
        "head_dist": 330,
    }
    assert report.totals.params == 1332
    assert_rows_sum_to_total(report)
    text = render_report(report, OutputFormat.table, PLAIN)
    assert "feeds head Linear(in_features=32): sizes agree" in text
    assert (
        f"row {b.index} (the same Tensor.__getitem__) feeds head_dist Linear(in_features=32)"
        in text
    )


def test_linear_subclass_calling_f_linear_is_the_consumer() -> None:
    report = inspect(dm.LinearSubclassHead(), "1x3x4x4")
    flat = report.flatten
    assert flat is not None and flat.name == "flatten" and flat.operation == "flattens"
    assert flat.flattened_dims == (8, 4, 4)
    # Dropout passes the features through; the FunctionalLinear row, not its F.linear op.
    ((name, type_, expected, matches),) = [
        (c.name, c.type, c.expected_in_features, c.matches) for c in flat.consumers
    ]
    assert (name, type_, expected, matches) == ("head", "FunctionalLinear", 128, True)
    assert params_by_row(report) == {"conv": 8 * 3 * 9 + 8, "head": 128 * 5 + 5}
    assert_rows_sum_to_total(report)


def test_position_table_without_batch_dim_is_no_flatten_point() -> None:
    # table.flatten(1): [16, 2, 4] -> [16, 8] looks like (batch 16, features 8), but it is
    # made from a parameter; the flatten point is the mean over the 16 positions.
    report = inspect(dm.PositionTable(), "1x16x8")
    flat = report.flatten
    assert flat is not None
    assert (flat.name, flat.operation) == ("mean", "reduces")
    assert (flat.input_shape, flat.output_shape) == ((1, 16, 8), (1, 8))
    assert [(c.name, c.matches) for c in flat.consumers] == [("head", True)]
    assert params_by_row(report) == {"": 16 * 2 * 4, "proj": 8 * 8 + 8, "head": 8 * 3 + 3}
    assert_rows_sum_to_total(report)


def test_global_mean_reduces_rather_than_selects() -> None:
    report = inspect(dm.GlobalMean(), "1x3x7x7")
    flat = report.flatten
    assert flat is not None
    assert (flat.name, flat.type, flat.operation, flat.flattened_dims) == (
        "mean", "Tensor.mean", "reduces", ())  # fmt: skip
    assert [(c.name, c.expected_in_features, c.matches) for c in flat.consumers] == [
        ("fc", 8, True)
    ]
    text = render_report(report, OutputFormat.table, PLAIN)
    assert "[1, 8, 7, 7] -> [1, 8] (reduces over 7×7 with mean rather than flattening)" in text
    assert "selects" not in text
    assert report.to_dict()["flatten"]["operation"] == "reduces"


def test_one_feature_vector_feeding_two_heads() -> None:
    report = inspect(dm.TwoHeads(), "1x3x4x4")
    flat = report.flatten
    assert flat is not None and flat.name == "flatten"
    # cls is Sequential(ReLU, Linear): the ReLU passes the features on to cls.1.
    got = [(c.name, c.expected_in_features, c.matches) for c in flat.consumers]
    assert got == [("cls.1", 64, True), ("box", 64, True)]
    data = report.to_dict()["flatten"]
    assert data["consumer"]["name"] == "cls.1"
    assert [c["name"] for c in data["consumers"]] == ["cls.1", "box"]
    text = render_report(report, OutputFormat.markdown, PLAIN)
    assert "feeds cls.1 Linear(in_features=64): sizes agree" in text
    assert "feeds box Linear(in_features=64): sizes agree" in text


def test_without_data_flow_the_row_order_rules_still_apply() -> None:
    point = report_of(tuple(dataclasses.replace(r, inputs_from=None) for r in _cnn())).flatten
    assert point is not None and point.name == "head.0" and point.operation == "flattens"
    assert [c.name for c in point.consumers] == ["head.2"]


def _cnn() -> tuple[LayerRecord, ...]:
    from tests.records_factory import small_cnn_layers

    return small_cnn_layers()


# --- parameters where they are used ---------------------------------------------------------


def test_reading_a_childs_weight_dtype_is_not_using_it() -> None:
    report = inspect(dm.ParentReadsChildDtype(), "1x768")
    assert report.layers[0].params == 0
    proj = row(report, "proj")
    assert (proj.params, proj.shared_params) == (768 * 768, 0)  # 589,824
    assert_rows_sum_to_total(report)


def test_weights_used_before_their_module_ran_go_to_the_user() -> None:
    # A parent that computes with its child's weight (F.linear) before calling the child.
    class Parent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.child = nn.Linear(4, 4)  # 20

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.nn.functional.linear(x, self.child.weight)
            return self.child(x)

    report = inspect(Parent(), "1x4")
    assert params_by_row(report) == {"": 16, "child": 4}
    assert row(report, "child").shared_params == 16
    assert_rows_sum_to_total(report)


# --- lazy modules ---------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["meta", "auto", "cpu"])
def test_lazy_modules_are_materialised_and_counted(device: str) -> None:
    report = inspect(dm.LazyNet(), "1x3x8x8", device=device)
    assert report.totals.params == 224 + 2890
    assert params_by_row(report) == {"conv": 224, "fc": 2890}
    assert_rows_sum_to_total(report)
    flat = report.flatten
    assert flat is not None and flat.output_shape == (1, 288)
    assert [(c.name, c.type, c.matches) for c in flat.consumers] == [("fc", "Linear", True)]
    # Only ops of the model's forward are rows (not the initialisers lazy modules run).
    assert [r.name for r in report.layers] == ["", "conv", "flatten", "fc"]


def test_callers_lazy_module_stays_uninitialised() -> None:
    model = dm.LazyNet()
    report = inspect_model(model, torch.zeros(1, 3, 8, 8))  # auto: its own device, cpu
    assert report.totals.params == 3114
    assert type(model.fc) is nn.LazyLinear
    assert isinstance(model.fc.weight, nn.parameter.UninitializedParameter)


def test_lazy_module_on_the_cli_exits_0() -> None:
    target = f"{MODELS / 'dataflow_models.py'}:LazyNet"
    for device in ("meta", "cpu", "auto"):
        result = CliRunner().invoke(
            app, ["inspect", target, "-i", "1x3x8x8", "--device", device, "-f", "json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["totals"]["params"] == 3114


def test_lazy_module_never_reached_is_not_counted() -> None:
    class Stops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.LazyLinear(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    report = inspect(Stops(), "1x4")
    assert report.totals.params == 0
    assert any("lazy modules were never materialised" in n for n in report.notes)


def _brute_readers(layers: list[LayerRecord], pos: int) -> list[int]:
    """The definition of ``_Flow.readers``, written out in full: every later row is checked
    against the tensors the subtree at ``pos`` made."""
    from netinspect.analysis.layers import subtree_end

    end = subtree_end(layers, pos)
    made = {layers[q].index for q in range(pos, end)}
    readers = [
        q
        for q in range(end, len(layers))
        if any(isinstance(s, int) and s in made for s in layers[q].inputs_from or ())
    ]
    chosen = set(readers)
    for q in readers:
        inner = [r for r in readers if q < r < subtree_end(layers, q)]
        if any(layers[r].kind == "module" for r in inner):
            chosen.discard(q)
        elif layers[q].kind == "module":
            chosen.difference_update(inner)
    return sorted(chosen)


@pytest.mark.parametrize("name", ["resnet18", "vit_b_16"])
def test_the_flow_index_answers_as_the_definition(name: str) -> None:
    # The index made following the flatten point's output linear (recurrent_gemma's 20,000
    # per-step rows took minutes); what it answers must not change.
    from netinspect.analysis.flatten import _Flow
    from netinspect.analysis.layers import subtree_end

    layers = list(inspect_model(name).layers)
    flow = _Flow(layers)
    assert flow.ends == [subtree_end(layers, i) for i in range(len(layers))]
    for pos in range(0, len(layers), 7):
        assert flow.readers(pos) == _brute_readers(layers, pos), layers[pos].name


def test_a_long_loop_after_the_flatten_point_keeps_its_consumers() -> None:
    class Scan(nn.Module):
        """x[:, 0] is the flatten point ([2, 400, 8] -> [2, 8]); x[:, 1]... are its twins (the
        same drop from the same tensor), and each feeds the step Linear's call at t."""

        def __init__(self) -> None:
            super().__init__()
            self.step = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.zeros(2, 8)
            for t in range(x.shape[1]):
                h = torch.tanh(self.step(x[:, t]) + h)
            return h

    report = inspect(Scan(), "2x400x8")
    assert len(report.layers) > 1600
    flat = report.flatten
    assert flat is not None and flat.output_shape == (2, 8) and flat.operation == "selects"
    assert {(c.name, c.matches) for c in flat.consumers} == {("step", True)}
    assert len(flat.consumers) == 400
