"""One renderer per output format: each is a pure function from a report to text."""

from __future__ import annotations

from netinspect.records import InspectionReport
from netinspect.render.options import (
    DEFAULT_COLUMNS,
    Column,
    OutputFormat,
    RenderOptions,
    parse_columns,
)

__all__ = [
    "DEFAULT_COLUMNS",
    "Column",
    "OutputFormat",
    "RenderOptions",
    "parse_columns",
    "render_report",
]


def render_report(report: InspectionReport, fmt: OutputFormat, options: RenderOptions) -> str:
    match fmt:
        case OutputFormat.table:
            from netinspect.render.table import render_table

            return render_table(report, options)
        case OutputFormat.json:
            from netinspect.render.json_format import render_json

            return render_json(report)
        case OutputFormat.markdown:
            from netinspect.render.markdown import render_markdown

            return render_markdown(report, options.columns)
