"""compare_reports and baselines on hand-built records: no torch, no models."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from netinspect.compare.baseline import (
    BASELINE_SCHEMA_VERSION,
    Baseline,
    baseline_filename,
    baseline_from_report,
    baseline_path,
    baseline_to_text,
    canonical_target,
    read_baseline,
    specs_from_input_records,
    write_baseline,
)
from netinspect.compare.diff import comparable_view
from netinspect.compare.reports import compare_reports, read_comparable_json
from netinspect.errors import BaselineError, UsageError
from netinspect.records import (
    FlattenPoint,
    InputRecord,
    InspectionReport,
    LayerRecord,
    ModelInfo,
    Totals,
)
from netinspect.render import RenderOptions
from netinspect.render.diff import render_diff_table
from netinspect.schema import load_schema

jsonschema = pytest.importorskip("jsonschema")


def row(
    index: int,
    name: str,
    type_: str,
    inp: tuple[int, ...],
    out: tuple[int, ...],
    params: int = 0,
    kind: str = "module",
    call_index: int = 0,
    source: str | None = None,
) -> LayerRecord:
    depth = 0 if not name else name.count(".") + 1
    return LayerRecord(
        index=index, name=name, kind=kind, type=type_, depth=depth, parent=None if not name else "",
        call_index=call_index, input_shapes=(inp,), output_shapes=(out,), params=params,
        trainable_params=params, source=source,
    )  # fmt: skip


def mlp(hidden: int = 32, classes: int = 10, extra: bool = False) -> InspectionReport:
    """fc1(16->hidden) relu [fc_extra(hidden->hidden)] fc2(hidden->classes) on a 4x16 input."""
    layers = [
        row(0, "", "MLP", (4, 16), (4, classes)),
        row(1, "fc1", "Linear", (4, 16), (4, hidden), 16 * hidden + hidden),
        row(2, "relu", "ReLU", (4, hidden), (4, hidden)),
    ]
    if extra:
        layers.append(
            row(3, "fc_extra", "Linear", (4, hidden), (4, hidden), hidden * hidden + hidden)
        )
    layers.append(
        row(len(layers), "fc2", "Linear", (4, hidden), (4, classes), hidden * classes + classes)
    )
    total = sum(r.params for r in layers)
    return InspectionReport(
        model=ModelInfo("mlp", "file", "MLP"),
        device="meta",
        dtype="float32",
        inputs=(InputRecord("input0", (4, 16), "float32"),),
        layers=tuple(layers),
        flatten=None,
        outputs=((4, classes),),
        totals=Totals(total, total, 0, 4 * total, {"float32": 4 * total}),
        netinspect_version="0.1.0",
        environment={"torch": "2.14.1"},
    )


def test_identical_reports_are_not_a_regression() -> None:
    diff = compare_reports(mlp(), mlp())
    assert not diff.is_regression
    assert diff.layer_changes == ()
    assert diff.changes == ()
    assert [r.status for r in diff.rows] == ["same"] * 4


def test_environment_versions_source_lines_and_indices_are_ignored() -> None:
    old = mlp()
    moved = tuple(
        replace(r, index=r.index + 7, source=f"model.py:{r.index + 40}") for r in old.layers
    )
    new = replace(
        old, layers=moved, netinspect_version="9.9", device="cpu", environment={"torch": "3.0"},
        notes=("fell back to cpu",),
    )  # fmt: skip
    assert not compare_reports(old, new).is_regression


def test_changed_head_names_the_layer_and_the_fields() -> None:
    diff = compare_reports(mlp(classes=10), mlp(classes=5))
    assert diff.is_regression
    changed = {r.name: r for r in diff.layer_changes}
    assert set(changed) == {"", "fc2"}
    head = changed["fc2"]
    assert head.status == "changed"
    fields = {c.field: (c.old, c.new) for c in head.changes}
    assert fields["output_shapes"] == (((4, 10),), ((4, 5),))
    # Linear(32, n) holds 32*n + n parameters.
    assert fields["params"] == (32 * 10 + 10, 32 * 5 + 5)
    report_fields = {c.field: (c.old, c.new) for c in diff.changes}
    assert report_fields["outputs"] == (((4, 10),), ((4, 5),))
    assert report_fields["totals.params"][1] - report_fields["totals.params"][0] == 33 * 5 - 33 * 10
    assert diff.outermost_changes == ("fc2",)


def test_inserted_layer_is_one_insertion_not_a_cascade() -> None:
    diff = compare_reports(mlp(), mlp(extra=True))
    assert [(r.status, r.name) for r in diff.layer_changes] == [("added", "fc_extra")]
    # The rows after the insertion are matched by name, even though their indices moved.
    assert [r.status for r in diff.rows] == ["same", "same", "same", "added", "same"]
    assert {c.field for c in diff.changes} == {
        "totals.params", "totals.trainable_params", "totals.param_bytes",
    }  # fmt: skip


def test_removed_layer_is_one_deletion() -> None:
    diff = compare_reports(mlp(extra=True), mlp())
    assert [(r.status, r.name) for r in diff.layer_changes] == [("removed", "fc_extra")]
    removed = diff.layer_changes[0]
    assert removed.old is not None and removed.new is None
    assert removed.old.params == 32 * 32 + 32


def test_a_different_module_under_the_same_name_is_replaced() -> None:
    old = mlp()
    new = replace(old, layers=tuple(
        replace(r, type="GELU") if r.name == "relu" else r for r in old.layers
    ))  # fmt: skip
    (only,) = compare_reports(old, new).layer_changes
    assert (only.status, only.name) == ("replaced", "relu")
    assert [(c.field, c.old, c.new) for c in only.changes] == [("type", "ReLU", "GELU")]


def test_call_index_separates_repeated_calls() -> None:
    base = mlp()
    twice = replace(base, layers=(*base.layers, replace(base.layers[2], index=4, call_index=1)))
    diff = compare_reports(base, twice)
    assert [(r.status, r.name, r.call_index) for r in diff.layer_changes] == [("added", "relu", 1)]


def test_flatten_point_is_compared_as_one_fact() -> None:
    point = FlattenPoint(3, "flatten", "function", "torch.flatten", (1, 8, 2, 2), (1, 32),
                         "net.py:12", (8, 2, 2), None)  # fmt: skip
    old = replace(mlp(), flatten=point)
    moved_line = replace(mlp(), flatten=replace(point, source="net.py:99", layer_index=9))
    assert not compare_reports(old, moved_line).is_regression
    smaller = replace(mlp(), flatten=replace(point, input_shape=(1, 8, 1, 1), output_shape=(1, 8),
                                             flattened_dims=(8, 1, 1)))  # fmt: skip
    (change,) = [c for c in compare_reports(old, smaller).changes if c.field == "flatten"]
    assert change.old["output_shape"] == (1, 32) and change.new["output_shape"] == (1, 8)


def test_dicts_and_reports_compare_alike_and_to_dict_matches_its_schema() -> None:
    old, new = mlp(), mlp(classes=5, extra=True)
    from_records = compare_reports(old, new)
    from_dicts = compare_reports(old.to_dict(), json.loads(json.dumps(new.to_dict())))
    assert from_records.to_dict() == from_dicts.to_dict()
    data = from_records.to_dict()
    jsonschema.validate(data, load_schema("diff"))
    # The root's output shape changes with the head, so it differs too.
    assert data["summary"] == {
        "same": 2,
        "changed": 2,
        "replaced": 0,
        "added": 1,
        "removed": 0,
        "renamed": 0,
    }
    assert [(x["status"], x["name"]) for x in data["layers"]] == [
        ("changed", ""), ("added", "fc_extra"), ("changed", "fc2"),
    ]  # fmt: skip


def test_diff_table_shows_both_sides() -> None:
    text = render_diff_table(
        compare_reports(mlp(), mlp(classes=5, extra=True)), RenderOptions(width=100)
    )
    assert "added" in text and "fc_extra" in text
    assert "[4,32] -> [4,10]" in text and "[4,32] -> [4,5]" in text
    assert "Output: [4, 10] -> [4, 5]" in text
    assert "Changed: fc_extra, fc2" in text


# --- baselines --------------------------------------------------------------------------------


def test_baseline_text_is_sorted_indented_and_has_only_compared_facts() -> None:
    text = baseline_to_text(baseline_from_report("models/net.py:Net", ("4x16",), mlp()))
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["schema_version"] == BASELINE_SCHEMA_VERSION
    assert data["target"] == "models/net.py:Net" and data["inputs"] == ["4x16"]
    assert list(data) == sorted(data) and list(data["report"]) == sorted(data["report"])
    for banned in ("environment", "netinspect_version", "device", "2.14.1", '"index"', "source"):
        assert banned not in text
    # Shapes stay on one line each, so a git diff of a changed shape is one line.
    assert '"shape": [4, 16]' in text
    assert '"output_shapes": [[4, 10]]' in text
    assert comparable_view(data["report"]) == comparable_view(mlp())


def test_baseline_round_trip(tmp_path: Path) -> None:
    path = write_baseline(tmp_path, baseline_from_report("vgg16", None, mlp()))
    assert path == tmp_path / "vgg16.json"
    back = read_baseline(path)
    assert back.target == "vgg16" and back.inputs is None
    assert not compare_reports(back.view, mlp()).is_regression


@pytest.mark.parametrize(
    "target",
    [
        "configs/mlp.yaml",
        "configs_mlp.yaml",
        "../up/x.py:Net",
        "a b:c",
        "/abs/m.py:Net",
        "...",
        "pkg.mod:Net",
    ],
)
def test_baseline_filenames_are_safe_and_distinct(target: str) -> None:
    name = baseline_filename(target)
    assert name.endswith(".json")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def test_similar_targets_do_not_share_a_file() -> None:
    assert baseline_filename("configs/mlp.yaml") != baseline_filename("configs_mlp.yaml")
    assert baseline_filename("vgg16") == "vgg16.json"


def test_canonical_target_normalizes_paths(tmp_path: Path) -> None:
    assert canonical_target("./models/../models/net.py:Net") == "models/net.py:Net"
    assert canonical_target("configs//mlp.yaml") == "configs/mlp.yaml"
    assert canonical_target(str(tmp_path / "m" / "x.py") + ":Net", base=tmp_path) == "m/x.py:Net"
    assert canonical_target("torchvision.models:vgg16") == "torchvision.models:vgg16"
    assert baseline_path("d", "./x.py:Net") == baseline_path("d", "x.py:Net")


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    good = json.loads(baseline_to_text(baseline_from_report("vgg16", None, mlp())))
    path = _write(tmp_path / "vgg16.json", {**good, "schema_version": BASELINE_SCHEMA_VERSION + 1})
    with pytest.raises(BaselineError, match="newer netinspect") as info:
        read_baseline(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        '{"kind": "netinspect-baseline", "schema_version": 1, "target": "x"',
        "[]",
        '{"kind": "other"}',
        '{"kind": "netinspect-baseline", "schema_version": "1", "target": "x", "report": {}}',
        '{"kind": "netinspect-baseline", "schema_version": 1, "target": "x", "report": {"a": 3}}',
    ],
)  # fmt: skip
def test_corrupt_baselines_name_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    assert str(path) in str(info.value)


def test_interrupted_write_keeps_the_old_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_baseline(tmp_path, baseline_from_report("vgg16", None, mlp()))
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the temp file is written, before the rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_baseline(tmp_path, Baseline("vgg16", None, comparable_view(mlp(classes=5))))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vgg16.json"]


def test_saved_report_and_baseline_files_read_as_comparable(tmp_path: Path) -> None:
    report_file = _write(tmp_path / "r.json", mlp().to_dict())
    base_file = write_baseline(tmp_path, baseline_from_report("vgg16", None, mlp()))
    assert (
        read_comparable_json(report_file)
        == read_comparable_json(base_file)
        == comparable_view(mlp())
    )
    with pytest.raises(UsageError, match="neither a netinspect report"):
        read_comparable_json(_write(tmp_path / "other.json", {"hello": 1}))


def test_specs_from_input_records_rebuild_the_input_grammar() -> None:
    from netinspect.specs import parse_input_specs

    records = [
        {"name": "input0", "shape": [1, 3, 8, 8], "dtype": "float32"},
        {"name": "images[0]", "shape": [3, 8, 8], "dtype": "float32"},
        {"name": "images[1]", "shape": [3, 6, 6], "dtype": "float32"},
        {"name": "mask", "shape": [1, 8], "dtype": "bool"},
    ]
    specs = specs_from_input_records(records)
    assert specs == ("1x3x8x8:float32", "images=[3x8x8:float32,3x6x6:float32]", "mask=1x8:bool")
    assert len(parse_input_specs(list(specs))) == 3


def test_compare_reports_is_exported_lazily() -> None:
    import netinspect
    from netinspect import api

    # The public name is the Python API's: the same diff, errors worded for Python.
    assert netinspect.compare_reports is api.compare_reports
    assert netinspect.compare_reports(mlp(), mlp()) == compare_reports(mlp(), mlp())
    assert netinspect.ReportDiff.__name__ == "ReportDiff"


def test_baselines_get_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        path = write_baseline(tmp_path, baseline_from_report("vgg16", None, mlp()))
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o664)  # a replaced file keeps its own mode
        write_baseline(tmp_path, baseline_from_report("vgg16", None, mlp(classes=5)))
        assert path.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old_umask)


def test_compare_reports_reads_paths_and_rejects_other_types(tmp_path: Path) -> None:
    first = mlp()
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(comparable_view(first)))
    diff = compare_reports(saved, first)
    assert not diff.is_regression
    assert diff.old_label == str(saved)
    assert not compare_reports(str(saved), saved).is_regression
    with pytest.raises(TypeError, match="saved report / baseline JSON"):
        compare_reports(42, first)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="does not exist"):
        compare_reports(tmp_path / "missing.json", first)


# --- positional containers: an insertion renumbers later children -----------------------------


def sequential(widths: list[tuple[str, int, int]]) -> InspectionReport:
    """An nn.Sequential of (type, in, out) rows named 0, 1, 2, ... on a 2xin input."""
    layers = [row(0, "", "Sequential", (2, widths[0][1]), (2, widths[-1][2]))]
    for i, (type_, n_in, n_out) in enumerate(widths):
        params = n_in * n_out + n_out if type_ == "Linear" else 0
        layers.append(row(i + 1, str(i), type_, (2, n_in), (2, n_out), params))
    total = sum(r.params for r in layers)
    return replace(
        mlp(), layers=tuple(layers), outputs=((2, widths[-1][2]),),
        totals=Totals(total, total, 0, 4 * total, {"float32": 4 * total}),
    )  # fmt: skip


def test_insertion_into_a_sequential_is_one_insertion_and_shifted_renames() -> None:
    old = sequential([("Linear", 8, 6), ("ReLU", 6, 6), ("Linear", 6, 3)])
    new = sequential([("Linear", 8, 6), ("Tanh", 6, 6), ("ReLU", 6, 6), ("Linear", 6, 3)])
    diff = compare_reports(old, new)
    statuses = [(r.status, r.old_name, r.new.name if r.new else None) for r in diff.rows]
    assert statuses == [
        ("same", "", ""),
        ("same", "0", "0"),
        ("added", None, "1"),
        ("renamed", "1", "2"),
        ("renamed", "2", "3"),
    ]
    assert diff.outermost_changes == ("1",)
    data = diff.to_dict()
    jsonschema.validate(data, load_schema("diff"))
    assert data["summary"]["renamed"] == 2 and data["summary"]["changed"] == 0
    assert [(x["status"], x["old_name"], x["name"]) for x in data["layers"]] == [
        ("added", None, "1"), ("renamed", "1", "2"), ("renamed", "2", "3"),
    ]  # fmt: skip
    table = render_diff_table(diff, RenderOptions(width=100, color=False))
    assert "1 -> 2" in table and "2 -> 3" in table


def test_a_real_change_after_a_shift_is_changed_with_both_names() -> None:
    old = sequential([("Linear", 8, 6), ("ReLU", 6, 6), ("Linear", 6, 3)])
    new = sequential([("Linear", 8, 6), ("Tanh", 6, 6), ("ReLU", 6, 6), ("Linear", 6, 5)])
    head = next(r for r in compare_reports(old, new).rows if r.old_name == "2")
    assert (head.status, head.name) == ("changed", "3")
    # Linear(6, n): 6n + n parameters.
    assert {c.field: (c.old, c.new) for c in head.changes}["params"] == (6 * 3 + 3, 6 * 5 + 5)


def test_cli_diff_of_mlp_with_an_inserted_batchnorm(tmp_path: Path) -> None:
    from netinspect_cli import main as _registers  # noqa: F401
    from netinspect_cli.app import app
    from typer.testing import CliRunner

    configs = Path(__file__).resolve().parent.parent / "configs"
    text = (configs / "mlp.yaml").read_text()
    bn = tmp_path / "mlp_bn.yaml"
    first = "  - Linear: [784, 256]\n"
    bn.write_text(text.replace(first, first + "  - BatchNorm1d: 256\n"))
    assert text.count(first) == 1
    result = CliRunner().invoke(
        app, ["diff", str(configs / "mlp.yaml"), str(bn), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    # Flatten, Linear, ReLU, Dropout, Linear, ReLU, Linear: the 5 after the first Linear shift.
    assert data["summary"] == {
        "same": 3, "changed": 0, "replaced": 0, "added": 1, "removed": 0, "renamed": 5,
    }  # fmt: skip
    (added,) = [x for x in data["layers"] if x["status"] == "added"]
    # BatchNorm1d(256): a weight and a bias per feature.
    assert (added["name"], added["new"]["type"], added["new"]["params"]) == (
        "2", "BatchNorm1d", 2 * 256,
    )  # fmt: skip
