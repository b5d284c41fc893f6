"""Compare two inspections: which layers were added, removed, replaced or changed shape.

No torch here: ``diff`` and ``check`` compare saved reports and baselines without it.

Both sides are first reduced to their *comparable view*: only what a shape regression is made
of (per-layer kind, type, input/output shapes, params; the flatten point, outputs, totals,
inputs and the forward error). Environment, versions, devices, source lines and row indices
are left out, so moving a line in a model file or upgrading torch is not a regression.

Rows are aligned structurally (``align.opcodes``: difflib's longest common subsequence of keys
on small inputs, patience-style anchors on long ones), so one inserted layer reads as one
insertion rather than as every later row having changed. The key is ``(name with numeric
segments as "#", call_index, kind, type)``: an ``nn.Sequential`` names its children by
position, so inserting a layer renumbers every later one (``features.3`` becomes
``features.4``); those rows still match and are reported as *renamed* (``old -> new`` name),
not as changed. Where the structural keys disagree (a different type under one name), the old
alignment by exact ``(name, call_index)`` decides, so a module swapped under the same name
reads as *replaced*.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from netinspect.compare.align import opcodes
from netinspect.compare.renames import pair_renames
from netinspect.display import DiffDisplay
from netinspect.records import InspectionReport, Shape
from netinspect.serialize import report_to_dict, to_jsonable

DIFF_SCHEMA_VERSION = 1

RowStatus = Literal["same", "changed", "replaced", "added", "removed", "renamed"]
ROW_STATUSES: tuple[RowStatus, ...] = ("same", "changed", "replaced", "added", "removed", "renamed")

# The per-layer facts that are compared, in the order changes are listed.
LAYER_FIELDS = ("kind", "type", "input_shapes", "output_shapes", "params", "trainable_params")
TOTALS_FIELDS = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "param_bytes",
    "uncalled_params",
)


@dataclass(frozen=True, slots=True)
class LayerView:
    """The compared facts of one row."""

    name: str
    call_index: int
    kind: str
    type: str
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One compared value that differs; ``field`` is dotted when nested (``totals.params``)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class LayerDiff:
    """One aligned row: present on both sides (same/changed/replaced) or on one (added/removed)."""

    status: RowStatus
    old: LayerView | None
    new: LayerView | None
    changes: tuple[FieldChange, ...] = ()
    # A "renamed" row paired only by its facts (kind, type, shapes, params) after the names
    # told the two sides apart (``head`` -> ``classifier``): shown as "renamed?".
    is_guess: bool = False

    @property
    def name(self) -> str:
        view = self.new if self.new is not None else self.old
        assert view is not None
        return view.name

    @property
    def call_index(self) -> int:
        view = self.new if self.new is not None else self.old
        assert view is not None
        return view.call_index

    @property
    def old_name(self) -> str | None:
        """The old side's name (differs from ``name`` when a shift renumbered the row)."""
        return None if self.old is None else self.old.name

    @property
    def is_renamed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.name != self.new.name


@dataclass(frozen=True, slots=True, repr=False)
class ReportDiff(DiffDisplay):
    """The result of ``compare_reports``. ``rows`` holds every aligned row, unchanged ones too."""

    old_label: str
    new_label: str
    rows: tuple[LayerDiff, ...]
    # Report-level differences: inputs, outputs, flatten point, totals, error.
    changes: tuple[FieldChange, ...]
    # Each side's flatten point (its row name), so a renderer can mark it even when unchanged.
    old_flatten: str | None = None
    new_flatten: str | None = None

    @property
    def layer_changes(self) -> tuple[LayerDiff, ...]:
        return tuple(r for r in self.rows if r.status != "same")

    @property
    def is_regression(self) -> bool:
        """True when anything compared differs."""
        return bool(self.changes) or any(r.status != "same" for r in self.rows)

    @property
    def outermost_changes(self) -> tuple[str, ...]:
        """Names of the outermost differing layers (the root excluded), in model order."""
        return outermost_changed_names(
            tuple(r for r in self.layer_changes if r.status != "renamed" or r.is_guess)
        )

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable diff (``netinspect diff --format json``)."""
        return diff_to_dict(self)


# --- the comparable view --------------------------------------------------------------------


def _shape_list(values: Any) -> list[list[int]]:
    return [[int(d) for d in shape] for shape in values]


def comparable_view(source: InspectionReport | Mapping[str, Any]) -> dict[str, Any]:
    """Only what is compared, as plain JSON-ready data.

    ``source`` is a report, a report dict (``--format json``), or a view made by this function
    (baselines store exactly this). Raises KeyError/TypeError/ValueError on a malformed dict.
    """
    data: Mapping[str, Any] = (
        report_to_dict(source) if isinstance(source, InspectionReport) else source
    )
    flatten = data.get("flatten")
    error = data.get("error")
    if isinstance(error, Mapping):
        error = error.get("message")
    totals = data["totals"]
    return {
        "inputs": [
            {
                "name": str(i["name"]),
                "shape": [int(d) for d in i["shape"]],
                "dtype": str(i["dtype"]),
            }
            for i in data["inputs"]
        ],
        "layers": [
            {
                "name": str(row["name"]),
                "call_index": int(row["call_index"]),
                "kind": str(row["kind"]),
                "type": str(row["type"]),
                "input_shapes": _shape_list(row["input_shapes"]),
                "output_shapes": _shape_list(row["output_shapes"]),
                "params": int(row["params"]),
                "trainable_params": int(row.get("trainable_params", row["params"])),
            }
            for row in data["layers"]
        ],
        "flatten": None
        if flatten is None
        else {
            "name": str(flatten["name"]),
            "kind": str(flatten["kind"]),
            "type": str(flatten["type"]),
            "input_shape": [int(d) for d in flatten["input_shape"]],
            "output_shape": [int(d) for d in flatten["output_shape"]],
            "flattened_dims": [int(d) for d in flatten.get("flattened_dims", ())],
        },
        "outputs": _shape_list(data["outputs"]),
        "totals": {key: int(totals.get(key, 0)) for key in TOTALS_FIELDS},
        "error": None if error is None else str(error),
    }


def _layer_view(row: Mapping[str, Any]) -> LayerView:
    return LayerView(
        name=row["name"],
        call_index=row["call_index"],
        kind=row["kind"],
        type=row["type"],
        input_shapes=tuple(tuple(s) for s in row["input_shapes"]),
        output_shapes=tuple(tuple(s) for s in row["output_shapes"]),
        params=row["params"],
        trainable_params=row["trainable_params"],
    )


# --- comparing ------------------------------------------------------------------------------


def _compare_layers(old: LayerView, new: LayerView) -> LayerDiff:
    changes = tuple(
        FieldChange(f, getattr(old, f), getattr(new, f))
        for f in LAYER_FIELDS
        if getattr(old, f) != getattr(new, f)
    )
    if not changes:
        return LayerDiff("renamed" if old.name != new.name else "same", old, new)
    # A different module (or op) now sits under the same name.
    replaced = old.type != new.type or old.kind != new.kind
    return LayerDiff("replaced" if replaced else "changed", old, new, changes)


_NUMERIC_SEGMENT = re.compile(r"(?<![^.])\d+(?![^.])")


def _structural_key(view: LayerView) -> tuple[str, int, str, str]:
    """What a row is, regardless of where a positional container numbered it."""
    return (_NUMERIC_SEGMENT.sub("#", view.name), view.call_index, view.kind, view.type)


def _align_by_name(old: Sequence[LayerView], new: Sequence[LayerView]) -> list[LayerDiff]:
    old_keys = [(v.name, v.call_index) for v in old]
    new_keys = [(v.name, v.call_index) for v in new]
    rows: list[LayerDiff] = []
    for tag, i1, i2, j1, j2 in opcodes(old_keys, new_keys):
        if tag == "equal":
            rows += [_compare_layers(a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
        else:  # "delete", "insert" or "replace": keys differ, so these are different layers
            rows += [LayerDiff("removed", a, None) for a in old[i1:i2]]
            rows += [LayerDiff("added", None, b) for b in new[j1:j2]]
    return rows


def align_layers(old: Sequence[LayerView], new: Sequence[LayerView]) -> tuple[LayerDiff, ...]:
    """Align rows structurally (see the module docstring); within a stretch where the
    structures disagree, by exact ``(name, call_index)``. Unmatched rows become removals and
    insertions; matched rows whose names differ are renamed (or changed, with the new name)."""
    rows: list[LayerDiff] = []
    steps = opcodes(
        [_structural_key(v) for v in old],
        [_structural_key(v) for v in new],
        anchors=([(v.name, v.call_index) for v in old], [(v.name, v.call_index) for v in new]),
    )
    for tag, i1, i2, j1, j2 in steps:
        if tag == "equal":
            rows += [_compare_layers(a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
        else:
            rows += pair_renames(_align_by_name(old[i1:i2], new[j1:j2]))
    return tuple(rows)


def _as_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    return value


def _report_level_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    if old["inputs"] != new["inputs"]:
        changes.append(FieldChange("inputs", _as_tuples(old["inputs"]), _as_tuples(new["inputs"])))
    if old["outputs"] != new["outputs"]:
        changes.append(
            FieldChange("outputs", _as_tuples(old["outputs"]), _as_tuples(new["outputs"]))
        )
    # The flatten point is one fact: when any part of it moves, report it whole.
    if old["flatten"] != new["flatten"]:
        changes.append(
            FieldChange("flatten", _as_tuples(old["flatten"]), _as_tuples(new["flatten"]))
        )
    changes += [
        FieldChange(f"totals.{f}", old["totals"][f], new["totals"][f])
        for f in TOTALS_FIELDS
        if old["totals"][f] != new["totals"][f]
    ]
    if old["error"] != new["error"]:
        changes.append(FieldChange("error", old["error"], new["error"]))
    return changes


def flatten_name(view: Mapping[str, Any]) -> str | None:
    """The row name of a comparable view's flatten point."""
    flatten = view.get("flatten")
    return str(flatten["name"]) if isinstance(flatten, Mapping) else None


def _parent_name(name: str) -> str | None:
    if not name:
        return None
    return name.rpartition(".")[0]


def outermost_changed_names(changed: Sequence[LayerDiff]) -> tuple[str, ...]:
    """Differing rows whose enclosing module did not differ too (the root does not count).

    For vgg16 against its keypoint variant this is ``avgpool, flatten, classifier``: every
    row below those differs as well, and listing them all would bury the point.
    """
    names = {r.name for r in changed}
    out: list[str] = []
    for row in changed:
        if not row.name or row.name in out:
            continue
        parent = _parent_name(row.name)
        while parent and parent not in names:
            parent = _parent_name(parent)
        if not parent:
            out.append(row.name)
    return tuple(out)


# --- to JSON ---------------------------------------------------------------------------------


def _view_to_dict(view: LayerView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {
        "name": view.name,
        "call_index": view.call_index,
        "kind": view.kind,
        "type": view.type,
        "input_shapes": to_jsonable(view.input_shapes),
        "output_shapes": to_jsonable(view.output_shapes),
        "params": view.params,
        "trainable_params": view.trainable_params,
    }


def _change_to_dict(change: FieldChange) -> dict[str, Any]:
    return {"field": change.field, "old": to_jsonable(change.old), "new": to_jsonable(change.new)}


def diff_to_dict(diff: ReportDiff) -> dict[str, Any]:
    """Only the differing rows are listed; ``summary`` counts every aligned row."""
    counts = dict.fromkeys(ROW_STATUSES, 0)
    for row in diff.rows:
        counts[row.status] += 1
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "old": diff.old_label,
        "new": diff.new_label,
        "is_regression": diff.is_regression,
        "summary": counts,
        "outermost_changes": list(diff.outermost_changes),
        "layers": [
            {
                "status": row.status,
                "guessed": row.is_guess,
                "name": row.name,
                "old_name": row.old_name,
                "call_index": row.call_index,
                "old": _view_to_dict(row.old),
                "new": _view_to_dict(row.new),
                "changes": [_change_to_dict(c) for c in row.changes],
            }
            for row in diff.layer_changes
        ],
        "changes": [_change_to_dict(c) for c in diff.changes],
    }
