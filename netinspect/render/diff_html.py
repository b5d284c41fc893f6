"""``diff --format html`` and ``check --html``: old and new side by side in one page.

Every aligned row is in the page (unchanged ones too), marked added, removed, changed,
replaced or renamed, with the changed facts in bold; blocks with no change inside start
folded. The page is drawn by ``assets/diff.js`` from the data built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netinspect.compare.baseline import CheckResult
from netinspect.compare.diff import LayerView, ReportDiff
from netinspect.render.diff import check_summary_line, report_change_lines, summary_line
from netinspect.render.html import page


def _view(v: LayerView | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "name": v.name,
        "call": v.call_index,
        "kind": v.kind,
        "type": v.type,
        "in": [list(s) for s in v.input_shapes],
        "out": [list(s) for s in v.output_shapes],
        "params": v.params,
        "trainable": v.trainable_params,
    }


def diff_payload(diff: ReportDiff) -> dict[str, Any]:
    """One diff as the page draws it."""
    return {
        "old": diff.old_label,
        "new": diff.new_label,
        "summary": summary_line(diff),
        "changes": report_change_lines(diff),
        "isRegression": diff.is_regression,
        "flatten": [diff.old_flatten, diff.new_flatten],
        "rows": [
            {
                "s": row.status,
                "g": row.is_guess,
                "o": _view(row.old),
                "n": _view(row.new),
                "f": sorted({c.field for c in row.changes}),
            }
            for row in diff.rows
        ],
    }


def render_diff_html(diff: ReportDiff) -> str:
    title = f"{diff.old_label} → {diff.new_label}"
    return page(
        title, "diff", {"title": title, "targets": [{"target": None, **diff_payload(diff)}]}
    )


def render_check_html(results: Sequence[CheckResult]) -> str:
    """Every checked target: its status, and its diff against the baseline when there is one."""
    targets = []
    for r in results:
        entry: dict[str, Any] = {"target": r.target, "status": r.status, "baseline": r.baseline}
        if r.error:
            entry["error"] = r.error
        if r.diff is not None:
            entry.update(diff_payload(r.diff))
        targets.append(entry)
    title = "netinspect check"
    return page(
        title, "diff", {"title": title, "summary": check_summary_line(results), "targets": targets}
    )
