"""``netinspect render REPORT.json``: any output format from a saved report, without the model."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .app import DebugOption, app, eprint, fail, handle_errors
from .inspect_cmd import (
    CollapseOption,
    FormatOption,
    GraphOption,
    OutputOption,
)
from .output import (
    collapse_by_default,
    format_for_path,
    output_render_options,
    write_output,
)


@app.command("render")
def render_command(
    report: Annotated[
        str,
        typer.Argument(
            metavar="REPORT",
            help="A saved report: netinspect MODEL -f json -o REPORT ('-': stdin).",
        ),
    ],
    fmt: FormatOption = None,
    output: OutputOption = None,
    depth: Annotated[
        Optional[int],
        typer.Option(
            "--depth", min=0, metavar="N", help="Fold rows deeper than N into their parent."
        ),
    ] = None,
    columns: Annotated[
        Optional[str],
        typer.Option(
            "--columns",
            metavar="LIST",
            help="Per-layer columns for table and markdown: shapes,params,macs,flops,memory.",
        ),
    ] = None,
    collapse: CollapseOption = None,
    graph: GraphOption = False,
    debug: DebugOption = False,
) -> None:
    """Render a saved JSON report in any format (html, mermaid, table, markdown, json)."""
    with handle_errors(debug):
        from netinspect.compare.reports import read_report_json
        from netinspect.render import (
            DEFAULT_COLUMNS,
            parse_columns,
            render_report_dict,
        )

        try:
            chosen_columns = parse_columns(columns) if columns is not None else DEFAULT_COLUMNS
        except ValueError as exc:
            fail(f"--columns: {exc}")
        data = read_report_json(report)
        if fmt is None:
            fmt = format_for_path(output)
        do_collapse = collapse if collapse is not None else collapse_by_default(fmt)
        if depth is not None or do_collapse:
            # Folding works on the records; the dict round trip keeps every key they know.
            from netinspect.analysis.layers import collapse_repeats, fold_to_depth
            from netinspect.deserialize import report_from_dict

            record = report_from_dict(data)
            if depth is not None:
                record = fold_to_depth(record, depth)
            if do_collapse:
                record = collapse_repeats(record)
            data = record.to_dict()
        text = render_report_dict(data, fmt, output_render_options(output, chosen_columns, graph))
        write_output(text, output, f"{fmt.value} report")
        if data.get("error"):
            eprint("netinspect: note: this report records a failed forward pass")
