"""The screen of ``netinspect watch``: the table with the rows that changed since the previous
successful run marked, then what else changed (removed rows, outputs, totals).

Pure functions of records and a ``ReportDiff`` (``compare.compare_reports``, the same diff
``check`` and ``diff`` print); no torch.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from netinspect.compare.diff import ReportDiff
from netinspect.records import InspectionReport
from netinspect.render import RenderOptions
from netinspect.render.diff import report_change_lines, row_line, summary_line
from netinspect.render.table import render_table

# How a diff status reads beside a row, strongest first (a folded row shows its strongest).
_MARK_WORDS = {"replaced": "replaced", "added": "new", "changed": "changed"}
_STRENGTH = {word: rank for rank, word in enumerate(_MARK_WORDS.values())}


def change_marks(
    diff: ReportDiff, full: InspectionReport, shown: InspectionReport
) -> dict[int, str]:
    """Row index in ``shown`` -> ``changed`` / ``new`` / ``replaced``.

    ``diff`` compares the previous run with ``full``; ``shown`` is ``full`` after ``--depth``
    or the collapse of repeats. Rows are in pre-order and keep their index when others are
    hidden, so a hidden row belongs to the last shown row before it (its folded ancestor or
    the collapsed run that holds it), which carries its mark.
    """
    status = {
        (row.new.name, row.new.call_index): _MARK_WORDS[row.status]
        for row in diff.rows
        if row.new is not None and row.status in _MARK_WORDS
    }
    shown_indices = sorted(layer.index for layer in shown.layers)
    marks: dict[int, str] = {}
    for layer in full.layers:
        word = status.get((layer.name, layer.call_index))
        if word is None:
            continue
        at = bisect.bisect_right(shown_indices, layer.index) - 1
        if at < 0:
            continue
        index = shown_indices[at]
        if index not in marks or _STRENGTH[word] < _STRENGTH[marks[index]]:
            marks[index] = word
    return marks


def change_footer(diff: ReportDiff, *, failed: bool = False) -> list[str]:
    """What the marks cannot show. After a failed forward, rows that did not run are not
    "removed", so only the marks are kept."""
    if failed:
        return ["Marked rows differ from the last run that passed."] if diff.layer_changes else []
    if not diff.is_regression:
        return ["Since the last run: no differences."]
    lines = [row_line(row) for row in diff.rows if row.status == "removed"]
    lines += report_change_lines(diff)
    lines.append(f"Since the last run: {summary_line(diff)}")
    return lines


def render_watch_run(
    shown: InspectionReport,
    options: RenderOptions,
    marks: Mapping[int, str] | None = None,
    footer: list[str] | None = None,
) -> str:
    text = render_table(shown, options, marks)
    return text + "".join(line + "\n" for line in footer or ())
