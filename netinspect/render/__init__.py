"""One renderer per output format: each is a pure function from a report to text.

The picture formats (html, mermaid) read the report *dict*, so a saved ``--format json``
report renders without rerunning the model, keys newer than the records included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netinspect.records import InspectionReport
from netinspect.render.options import (
    DEFAULT_COLUMNS,
    PICTURE_FORMATS,
    Column,
    OutputFormat,
    RenderOptions,
    parse_columns,
)
from netinspect.render.safe import printable, printable_json

__all__ = [
    "DEFAULT_COLUMNS",
    "PICTURE_FORMATS",
    "Column",
    "OutputFormat",
    "RenderOptions",
    "parse_columns",
    "render_report",
    "render_report_dict",
]


def render_report(report: InspectionReport, fmt: OutputFormat, options: RenderOptions) -> str:
    if fmt in PICTURE_FORMATS:
        return render_report_dict(report.to_dict(), fmt, options)
    match fmt:
        case OutputFormat.table:
            from netinspect.render.table import render_table

            text = render_table(report, options)
            if report.weights is not None:
                from netinspect.render.weights import render_weights_table

                text += "\n" + render_weights_table(report.weights, options, only_problems=True)
            return text
        case OutputFormat.json:
            from netinspect.render.json_format import render_json

            return printable_json(render_json(report))
        case OutputFormat.markdown:
            from netinspect.render.markdown import render_markdown

            text = render_markdown(report, options.columns, graph=options.graph)
            if report.weights is not None:
                from netinspect.render.weights import render_weights_markdown

                text += "\n" + render_weights_markdown(report.weights, only_problems=True)
            return printable(text)
        case OutputFormat.html | OutputFormat.mermaid:
            raise AssertionError("picture formats render from the dict")


def render_report_dict(data: Mapping[str, Any], fmt: OutputFormat, options: RenderOptions) -> str:
    """Render a report dict (``report.to_dict()`` or a saved ``--format json`` file). The
    picture formats read it as it is; the others rebuild the records first."""
    match fmt:
        case OutputFormat.html:
            from netinspect.render.html import render_html

            return printable(render_html(data))
        case OutputFormat.mermaid:
            from netinspect.render.mermaid import render_mermaid

            return printable(render_mermaid(data))
        case OutputFormat.table | OutputFormat.json | OutputFormat.markdown:
            from netinspect.deserialize import report_from_dict

            return render_report(report_from_dict(dict(data)), fmt, options)
