"""Text views behind the display methods of reports, diffs and sizes (``netinspect.display``):
the one-line ``repr``, the table as the CLI prints it, and each ``--format`` with the CLI's
options. Pure functions of records, as every renderer (no torch here)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from netinspect.records import InspectionReport
from netinspect.render.options import (
    DEFAULT_COLUMNS,
    Column,
    OutputFormat,
    RenderOptions,
    parse_columns,
)
from netinspect.render.safe import printable
from netinspect.render.text import clip, failure_lines, fmt_int, fmt_shape, fmt_shapes

if TYPE_CHECKING:
    from rich.text import Text

    from netinspect.analysis.sizes import SizesReport
    from netinspect.compare.diff import ReportDiff

# The longest model name ``repr`` shows whole.
_REPR_NAME = 60


def columns_of(columns: str | Sequence[Any] | None, report: InspectionReport) -> tuple[Column, ...]:
    """``columns=`` as given ("shapes,flops", ["shapes", Column.flops]), else the report's own
    view (``DisplayOptions``), else the CLI's default. Raises ValueError naming unknown ones."""
    if columns is None and report.display is not None and report.display.columns is not None:
        columns = report.display.columns
    if columns is None:
        return DEFAULT_COLUMNS
    if isinstance(columns, str):
        return parse_columns(columns)
    names = [c.value if isinstance(c, Column) else str(c) for c in columns]
    return parse_columns(",".join(names))


def shown_report(
    report: InspectionReport, depth: int | None, collapse: bool | None, *, default_collapse: bool
) -> InspectionReport:
    """The rows a view shows: folded below ``depth``, identical consecutive blocks collapsed
    (``collapse`` None: the report's own view, else ``default_collapse``, as the CLI's
    per-format default)."""
    from netinspect.analysis.layers import collapse_repeats, fold_to_depth

    view = report.display
    if depth is None and view is not None:
        depth = view.depth
    if collapse is None:
        collapse = view.collapse if view is not None and view.collapse is not None else None
    if collapse is None:
        collapse = default_collapse
    if depth is not None:
        if depth < 0:
            raise ValueError(f"depth must be 0 or more, not {depth}")
        report = fold_to_depth(report, depth)
    return collapse_repeats(report) if collapse else report


def table_text(
    report: InspectionReport,
    *,
    depth: int | None = None,
    columns: str | Sequence[Any] | None = None,
    collapse: bool | None = None,
    width: int = 100,
    color: bool = False,
) -> str:
    from netinspect.render.table import render_table

    chosen = columns_of(columns, report)
    shown = shown_report(report, depth, collapse, default_collapse=True)
    return render_table(shown, RenderOptions(width=width, color=color, columns=chosen))


def markdown_text(
    report: InspectionReport,
    *,
    depth: int | None = None,
    columns: str | Sequence[Any] | None = None,
    collapse: bool | None = None,
    graph: bool = False,
) -> str:
    from netinspect.render import render_report

    chosen = columns_of(columns, report)
    shown = shown_report(report, depth, collapse, default_collapse=True)
    return render_report(shown, OutputFormat.markdown, RenderOptions(columns=chosen, graph=graph))


def json_text(report: InspectionReport, *, depth: int | None = None, collapse: bool = False) -> str:
    from netinspect.render import render_report

    shown = shown_report(report, depth, collapse, default_collapse=False)
    return render_report(shown, OutputFormat.json, RenderOptions())


def page_text(report: InspectionReport, *, depth: int | None = None, collapse: bool = False) -> str:
    from netinspect.render import render_report

    shown = shown_report(report, depth, collapse, default_collapse=False)
    return render_report(shown, OutputFormat.html, RenderOptions())


def mermaid_text(
    report: InspectionReport, *, depth: int | None = None, collapse: bool = False
) -> str:
    from netinspect.render import render_report

    shown = shown_report(report, depth, collapse, default_collapse=False)
    return render_report(shown, OutputFormat.mermaid, RenderOptions())


def rich_text(text: str) -> Text:
    """Rendered text (with its ANSI colours) as a Rich renderable, for ``__rich_console__``."""
    from rich.text import Text

    return Text.from_ansi(text.rstrip("\n"), no_wrap=True)


# --- one-line reprs ------------------------------------------------------------------------


def _name(text: str) -> str:
    return clip(printable(text, one_line=True), _REPR_NAME)


def report_repr(report: InspectionReport) -> str:
    """``<InspectionReport resnet18 (ResNet): 68 rows, 11,689,512 params, output [1, 1000],
    flatten at flatten [1, 512, 1, 1] -> [1, 512]>``."""
    model = _name(report.model.name)
    if report.model.class_name and report.model.class_name != report.model.name:
        model += f" ({_name(report.model.class_name)})"
    parts = [
        f"{len(report.layers)} rows",
        f"{fmt_int(report.totals.params)} params",
        f"output {fmt_shapes(report.outputs, limit=2)}" if report.outputs else "no output",
    ]
    if report.error is not None:
        where = report.error.name if report.error.name is not None else "outside any layer"
        parts.append(f"forward failed at {_name(where or '(root)')}")
    elif report.flatten is not None:
        point = report.flatten
        parts.append(
            f"flatten at {_name(point.name or '(root)')} "
            f"{fmt_shape(point.input_shape)} -> {fmt_shape(point.output_shape)}"
        )
    else:
        parts.append("no flatten point")
    return f"<InspectionReport {model}: {', '.join(parts)}>"


def diff_repr(diff: ReportDiff) -> str:
    counts: dict[str, int] = {}
    for row in diff.layer_changes:
        counts[row.status] = counts.get(row.status, 0) + 1
    if not diff.is_regression:
        what = f"no differences in {len(diff.rows)} rows"
    else:
        rows = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no row differs"
        what = f"{rows}; {len(diff.changes)} report-level change(s)"
    return f"<ReportDiff {_name(diff.old_label)} -> {_name(diff.new_label)}: {what}>"


def sizes_repr(report: SizesReport) -> str:
    summary = report.summary
    if not summary.startswith(report.model):
        summary = f"{report.model}: {summary}"
    return f"<SizesReport {clip(printable(summary, one_line=True), 200)}>"


def diff_text(diff: ReportDiff, *, width: int = 100, color: bool = False) -> str:
    from netinspect.render.diff import render_diff_table

    return render_diff_table(diff, RenderOptions(width=width, color=color))


def diff_json(diff: ReportDiff) -> str:
    from netinspect.render.diff import render_diff_json

    return render_diff_json(diff)


def sizes_text(report: SizesReport) -> str:
    from netinspect.render.sizes_format import render_sizes_text

    return render_sizes_text(report)


def sizes_json(report: SizesReport) -> str:
    from netinspect.render.sizes_format import render_sizes_json

    return render_sizes_json(report)


# --- a failed forward, as IPython shows it ----------------------------------------------------


def failure_summary(report: InspectionReport, message: str) -> list[str]:
    """The lines IPython shows for ``ForwardFailed``: the diagnosis, what ran, and where the
    partial report and the model's own traceback are."""
    lines = [f"ForwardFailed: {printable(message, one_line=True)}"]
    if report.error is not None:
        pairs = failure_lines(report.error)
        width = max(len(k) for k, _ in pairs)
        lines += [f"  {k.ljust(width)}  {printable(v, one_line=True)}" for k, v in pairs]
    ran = sum(1 for layer in report.layers if layer.output_shapes)
    lines.append(
        f"{ran} of {len(report.layers)} rows ran. The partial report is the exception's "
        "`.report` (display it, or `err.report.table()`); the model's own traceback is "
        "`err.__cause__` (set NETINSPECT_TRACEBACK=1 to see it here)."
    )
    return lines


# --- the interactive page inside a notebook ---------------------------------------------------


class GraphView:
    """The interactive page in a sandboxed frame (``report.show_graph()``). Displayed in a
    notebook it is the page itself; ``.html`` is the page's text."""

    def __init__(self, page: str, title: str, height: int) -> None:
        self.html = page
        self.title = title
        self.height = height

    def __repr__(self) -> str:
        return (
            f"<GraphView {self.title}: the interactive page ({len(self.html):,} characters); "
            "display it in a notebook, or write it with report.to_html(path)>"
        )

    def _repr_html_(self) -> str:
        # ``allow-scripts`` without ``allow-same-origin``: the page runs in an opaque origin,
        # cut off from the notebook's cookies and DOM.
        return (
            f'<iframe title="{html.escape(self.title)}" sandbox="allow-scripts" '
            f'style="width:100%;height:{int(self.height)}px;border:1px solid '
            f'rgba(127,127,127,.4);border-radius:4px" srcdoc="{html.escape(self.html)}"></iframe>'
        )


def show_page(report: InspectionReport, *, height: int = 640) -> GraphView:
    shown = shown_report(report, None, False, default_collapse=False)
    return GraphView(page_text(shown), f"{report.model.name} data-flow graph", height)


__all__ = [
    "GraphView",
    "columns_of",
    "diff_json",
    "diff_repr",
    "diff_text",
    "failure_summary",
    "json_text",
    "markdown_text",
    "mermaid_text",
    "page_text",
    "report_repr",
    "rich_text",
    "shown_report",
    "sizes_json",
    "sizes_repr",
    "sizes_text",
    "table_text",
]
