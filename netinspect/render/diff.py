"""Renderers for ``diff`` and ``check``: pure functions of a ReportDiff or of check results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from io import StringIO
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from netinspect.compare.diff import FieldChange, LayerDiff, LayerView, ReportDiff
from netinspect.render.options import RenderOptions
from netinspect.render.safe import printable_json, printable_records
from netinspect.render.table import make_console
from netinspect.render.text import fmt_int, fmt_shape, fmt_shapes

if TYPE_CHECKING:
    from netinspect.compare.baseline import CheckResult

CHECK_SCHEMA_VERSION = 1

_STATUS_STYLE = {
    "added": "green",
    "removed": "red",
    "replaced": "magenta",
    "changed": "yellow",
    "renamed": "cyan",
}


def layer_label(name: str, call_index: int) -> str:
    label = name or "(root)"
    return f"{label} #{call_index + 1}" if call_index else label


def status_word(row: LayerDiff) -> str:
    """``renamed?`` for a rename guessed from matching facts alone."""
    return f"{row.status}?" if row.is_guess else row.status


def row_label(row: LayerDiff) -> str:
    """``features.3`` or, for a row a shift renumbered, ``features.3 -> features.4``."""
    if row.is_renamed:
        assert row.old is not None and row.new is not None
        old = layer_label(row.old.name, row.old.call_index)
        return f"{old} -> {layer_label(row.new.name, row.new.call_index)}"
    return layer_label(row.name, row.call_index)


def _params_text(view: LayerView) -> str:
    if view.params == 0:
        return "-"
    frozen = view.params - view.trainable_params
    return fmt_int(view.params) + (f" ({fmt_int(frozen)} frozen)" if frozen else "")


def _cell(view: LayerView | None, field: str) -> str:
    if view is None:
        return ""
    match field:
        case "type":
            return view.type
        case "input_shapes":
            return fmt_shapes(view.input_shapes, sep=",")
        case "output_shapes":
            return fmt_shapes(view.output_shapes, sep=",")
        case "params":
            return _params_text(view)
    raise AssertionError(field)


def _changed_fields(row: LayerDiff) -> set[str]:
    fields = {c.field for c in row.changes}
    if "trainable_params" in fields:
        fields.add("params")
    return fields


def _value_text(field: str, value: Any) -> str:
    if value is None:
        return "none"
    if field == "outputs" or field.endswith("_shapes"):
        return fmt_shapes(value, limit=6)
    if field.endswith("_shape") or field.endswith("_dims"):
        return fmt_shape(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return fmt_int(value)
    if field == "inputs":
        return ", ".join(f"{i['name']} {fmt_shape(i['shape'])} {i['dtype']}" for i in value)
    if field == "flatten":
        where = value["name"] or "(root)"
        shapes = f"{fmt_shape(value['input_shape'])} -> {fmt_shape(value['output_shape'])}"
        return f"{where} ({value['type']}) {shapes}"
    return str(value)


_FIELD_LABELS = {
    "inputs": "Inputs",
    "outputs": "Output",
    "flatten": "Flatten point",
    "error": "Forward error",
    "totals.params": "Total params",
    "totals.trainable_params": "Trainable params",
    "totals.non_trainable_params": "Non-trainable params",
    "totals.param_bytes": "Param bytes",
    "totals.uncalled_params": "Params never called",
}


def change_line(change: FieldChange) -> str:
    """``Output: [1, 1000] -> [1, 136]``; counts get their signed difference."""
    label = _FIELD_LABELS.get(
        change.field, change.field.replace(".", " ").replace("_", " ").capitalize()
    )
    # A flatten point already reads "in -> out", so its before/after takes a different arrow.
    arrow = " => " if change.field == "flatten" else " -> "
    old, new = _value_text(change.field, change.old), _value_text(change.field, change.new)
    text = f"{label}: {old}{arrow}{new}"
    if isinstance(change.old, int) and isinstance(change.new, int):
        text += f" ({change.new - change.old:+,})"
    return text


def _shown_changes(
    changes: Sequence[FieldChange], row: LayerDiff | None = None
) -> list[FieldChange]:
    """Leave out trainable counts that only repeat the params change (nothing frozen on either
    side); JSON keeps every field."""
    fields = {c.field for c in changes}
    shown = []
    for c in changes:
        if c.field == "totals.trainable_params" and "totals.non_trainable_params" not in fields:
            continue
        if (
            c.field == "trainable_params"
            and row is not None
            and row.old is not None
            and row.new is not None
            and row.old.trainable_params == row.old.params
            and row.new.trainable_params == row.new.params
        ):
            continue
        shown.append(c)
    return shown


def report_change_lines(diff: ReportDiff) -> list[str]:
    return [change_line(c) for c in _shown_changes(diff.changes)]


def summary_line(diff: ReportDiff) -> str:
    counts: dict[str, int] = {}
    for row in diff.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    parts = [
        f"{counts[s]} {s}"
        for s in ("replaced", "changed", "added", "removed", "renamed")
        if counts.get(s)
    ]
    same = counts.get("same", 0)
    if not diff.is_regression:
        return f"No differences: {same} layers, the flatten point, outputs and totals match."
    where = ", ".join(diff.outermost_changes) or "(root)"
    rows = ", ".join(parts) if parts else "no layer differs"
    return f"Changed: {where} ({rows}; {same} layers unchanged)"


def row_line(row: LayerDiff) -> str:
    """One line per differing row (annotations and plain logs)."""
    label = row_label(row)
    if row.status in ("added", "removed"):
        view = row.new if row.status == "added" else row.old
        assert view is not None
        shapes = f"{fmt_shapes(view.input_shapes)} -> {fmt_shapes(view.output_shapes)}"
        params = f", {fmt_int(view.params)} params" if view.params else ""
        return f"{row.status} {label}: {view.type} {shapes}{params}"
    if not row.changes:
        return f"{status_word(row)} {label}"
    details = "; ".join(
        f"{c.field.replace('_', ' ')} {_value_text(c.field, c.old)} -> "
        + _value_text(c.field, c.new)
        for c in _shown_changes(row.changes, row)
    )
    return f"{status_word(row)} {label}: {details}"


# The terminal table is for reading: past these, a cell's text is clipped and the rows stop
# (``-f json`` has everything). Rich's wrapping of a very long cell, and of hundreds of
# thousands of rows, is what took minutes on hostile files.
MAX_CELL_CHARS = 500
MAX_TABLE_ROWS = 500


def _clipped(text: str) -> str:
    if len(text) <= MAX_CELL_CHARS:
        return text
    return f"{text[: MAX_CELL_CHARS - 30]}… ({len(text):,} characters)"


def _side_cell(view: LayerView | None, bold: set[str], dim: bool) -> Text:
    """``Linear`` / ``[1,4096] -> [1,1000]`` / ``4,097,000 params``, changed parts in bold."""
    text = Text()
    if view is None:
        return text

    def part(field: str, value: str) -> None:
        style = "bold" if field in bold else ("dim" if dim else "")
        text.append(value, style=style)

    part("type", _clipped(view.type))
    text.append("\n")
    part("input_shapes", _clipped(_cell(view, "input_shapes")))
    text.append(" -> ")
    part("output_shapes", _clipped(_cell(view, "output_shapes")))
    if view.params:
        text.append("\n")
        part("params", _params_text(view) + " params")
    return text


def render_diff_table(diff: ReportDiff, options: RenderOptions) -> str:
    """Side by side: each differing row's type, shapes and params before and after."""
    diff = printable_records(diff)  # names and labels may come from hostile files
    buffer = StringIO()
    console = make_console(buffer, options)
    changed = diff.layer_changes
    if changed:
        table = Table(
            title=f"{diff.old_label}  ->  {diff.new_label}",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 1),
            show_lines=True,
        )
        table.add_column("", no_wrap=True)
        table.add_column("Layer", overflow="fold", min_width=8)
        table.add_column("Before", overflow="fold", min_width=16)
        table.add_column("After", overflow="fold", min_width=16)
        for row in changed[:MAX_TABLE_ROWS]:
            style = _STATUS_STYLE[row.status]
            table.add_row(
                Text(status_word(row), style=style),
                Text(_clipped(row_label(row)), style=style),
                _side_cell(row.old, set(), dim=False),
                # Changed parts stand out; unchanged ones are dim context.
                _side_cell(row.new, _changed_fields(row), dim=row.status in ("changed", "renamed")),
            )
        console.print(table)
        if len(changed) > MAX_TABLE_ROWS:
            console.print(
                f"... and {len(changed) - MAX_TABLE_ROWS:,} more differing rows (-f json lists all)"
            )
    for line in report_change_lines(diff):
        console.print(line)
    console.print(summary_line(diff))
    return buffer.getvalue()


def render_diff_json(diff: ReportDiff) -> str:
    return printable_json(json.dumps(diff.to_dict(), indent=2, ensure_ascii=False)) + "\n"


# --- check results ---------------------------------------------------------------------------

CHECK_WORDS = {
    "ok": "ok",
    "created": "created",
    "updated": "updated",
    "regression": "REGRESSION",
    "failed": "FAILED",
    "error": "ERROR",
}


NOT_REACHED = "layers after the failure never ran, and show as removed"


def diff_lines(diff: ReportDiff, max_rows: int) -> list[str]:
    rows = diff.layer_changes
    body = [row_line(r) for r in rows[:max_rows]]
    if len(rows) > max_rows:
        body.append(f"... and {len(rows) - max_rows} more differing layers")
    return body + report_change_lines(diff)


def accept_line(target: str) -> str:
    """How to accept a regression. Never offered for "failed": --update refuses a model whose
    forward pass raised."""
    return f"Accept with: netinspect check {target} --update"


def render_check_table(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """A line per target; a regression is followed by its side-by-side diff and how to accept
    it; a failed forward pass by its diff (what changed may be why it fails; the rows after
    the failure never ran) and no advice to accept it."""
    results = printable_records(list(results))
    parts: list[str] = []
    for result in results:
        word = CHECK_WORDS[result.status]
        line = f"{word:<10} {result.target}"
        if result.status in ("error", "failed"):
            line += f": {result.error}"
        elif result.status in ("ok", "created"):
            line += f" ({result.baseline})"
        elif result.diff is not None:
            line += f": {summary_line(result.diff)}"
        parts.append(line + "\n")
        if result.status == "failed" and result.diff is not None and result.diff.is_regression:
            parts.append(f"Against the baseline ({NOT_REACHED}):\n")
            parts.append(render_diff_table(result.diff, options))
        if result.status == "regression" and result.diff is not None:
            parts.append(render_diff_table(result.diff, options))
            parts.append(accept_line(result.target) + "\n")
    parts.append(check_summary_line(results) + "\n")
    return "".join(parts)


def check_summary_line(results: Sequence[CheckResult]) -> str:
    """``3 target(s) checked: 1 baseline(s) updated, 2 match.`` Updated and created baselines
    are counted as such, never folded into "all match"."""
    counts = {s: sum(1 for r in results if r.status == s) for s in CHECK_WORDS}
    head = f"{len(results)} target(s) checked"
    if not results:
        return f"{head}."
    if counts["ok"] == len(results):
        return f"{head}, all match their baselines."
    parts = []
    if counts["failed"]:
        parts.append(f"{counts['failed']} forward pass(es) failed")
    if counts["regression"]:
        parts.append(f"{counts['regression']} regression(s)")
    if counts["error"]:
        parts.append(f"{counts['error']} error(s)")
    if counts["updated"]:
        parts.append(f"{counts['updated']} baseline(s) updated")
    if counts["created"]:
        parts.append(f"{counts['created']} baseline(s) created")
    if counts["ok"]:
        parts.append(f"{counts['ok']} match")
    return f"{head}: {', '.join(parts)}."


def check_results_to_dict(results: Sequence[CheckResult]) -> dict[str, Any]:
    return {
        "schema_version": CHECK_SCHEMA_VERSION,
        "ok": all(r.status in ("ok", "created", "updated") for r in results),
        "results": [
            {
                "target": r.target,
                "baseline": r.baseline,
                "status": r.status,
                "error": r.error,
                "diff": None if r.diff is None or not r.diff.is_regression else r.diff.to_dict(),
            }
            for r in results
        ],
    }


def render_check_json(results: Sequence[CheckResult]) -> str:
    text = json.dumps(check_results_to_dict(results), indent=2, ensure_ascii=False)
    return printable_json(text) + "\n"
