"""``--format table``: a Rich table with the flatten row highlighted and a totals footer."""

from __future__ import annotations

from io import StringIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netinspect.records import InspectionReport
from netinspect.render import Column, RenderOptions
from netinspect.render.text import (
    column_cells,
    explanation_rows,
    failure_lines,
    flatten_summary,
    inputs_text,
    short_name,
    totals_lines,
)


def make_console(buffer: StringIO, options: RenderOptions) -> Console:
    """A console that writes to ``buffer``: colour only when asked, never a pager or wrap."""
    return Console(
        file=buffer,
        width=options.width,
        color_system="standard" if options.color else None,
        force_terminal=options.color,
        no_color=not options.color,
        highlight=False,
        soft_wrap=False,
    )


def render_table(report: InspectionReport, options: RenderOptions) -> str:
    buffer = StringIO()
    console = make_console(buffer, options)
    title = f"{report.model.name} ({report.model.class_name})"
    caption = f"input {inputs_text(report)} · device {report.device}"
    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        expand=False,
    )
    # Shapes and params never wrap mid-number; names and types fold when the terminal is narrow.
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("Layer", overflow="fold", min_width=8)
    table.add_column("Type", overflow="fold", min_width=8)
    columns = options.columns
    for column in columns:
        match column:
            case Column.shapes:
                table.add_column("Input shape", overflow="fold", min_width=13)
                table.add_column("Output shape", overflow="fold", min_width=13)
            case Column.params:
                table.add_column("Params", justify="right", no_wrap=True)
            case Column.macs:
                table.add_column("MACs", justify="right", no_wrap=True)
            case Column.flops:
                table.add_column("FLOPs", justify="right", no_wrap=True)
            case Column.memory:
                table.add_column("Activations", justify="right", no_wrap=True)

    flat_index = report.flatten.layer_index if report.flatten else None
    error_index = report.error.layer_index if report.error else None
    base_depth = min((layer.depth for layer in report.layers), default=0)
    for layer in report.layers:
        label = Text("  " * (layer.depth - base_depth) + short_name(layer))
        style = ""
        if layer.index == flat_index:
            label.append(" ◀ flatten", style="bold")
            style = "bold yellow"
        if layer.index == error_index:
            label.append("  ✖ failed here", style="bold")
            style = "bold red"
        elif layer.kind == "function":
            style = style or "cyan"
        cells: list[str | Text] = [str(layer.index), label, layer.type]
        cells += column_cells(layer, columns, shape_sep=",", failed=layer.index == error_index)
        table.add_row(*cells, style=style)
    console.print(table)

    if report.explanations is not None:
        arithmetic = Table(
            title="Shape arithmetic", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1)
        )
        arithmetic.add_column("#", justify="right", style="dim", no_wrap=True)
        arithmetic.add_column("Layer", overflow="fold", min_width=8)
        arithmetic.add_column("Arithmetic", overflow="fold", min_width=20)
        arithmetic.add_column("Stride", justify="right", no_wrap=True)
        arithmetic.add_column("RF", justify="right", no_wrap=True)
        for row in explanation_rows(report):
            arithmetic.add_row(*row)
        console.print(arithmetic)
        console.print(
            "Stride: input pixels between neighbouring outputs; RF: receptive field in input pixels (main path)."
        )

    if report.error is not None:
        console.print(Text("Forward pass failed", style="bold red"))
        # A grid, so that long messages wrap under their value, not under the labels.
        block = Table.grid(padding=(0, 2), pad_edge=True)
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for key, value in failure_lines(report.error):
            block.add_row(key, value)
        console.print(block)

    if report.flatten is not None:
        lines = flatten_summary(report.flatten)
        console.print(Text("Flatten point: ", style="bold yellow") + Text(lines[0]))
        for line in lines[1:]:
            console.print("  " + line)
    else:
        console.print("Flatten point: none (no row drops from >=3-D to 2-D)")
    label_width = max(len(k) for k, _ in totals_lines(report))
    for key, value in totals_lines(report):
        console.print(f"{key.ljust(label_width)}  {value}")
    for note in report.notes:
        console.print(Text("Note: ", style="bold") + Text(note))
    return buffer.getvalue()
