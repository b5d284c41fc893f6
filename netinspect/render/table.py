"""``--format table``: a Rich table with the flatten row highlighted and a totals footer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from io import StringIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netinspect.records import InspectionReport
from netinspect.render.options import Column, RenderOptions
from netinspect.render.text import (
    DATA_DEPENDENT_LEGEND,
    column_cells,
    explanation_rows,
    failure_lines,
    flatten_summary,
    has_data_dependent_shapes,
    inputs_text,
    short_name,
    symbolic_lines,
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


_DATA_HEADERS: dict[Column, tuple[str, ...]] = {
    Column.shapes: ("Input shape", "Output shape"),
    Column.params: ("Params",),
    Column.macs: ("MACs",),
    Column.flops: ("FLOPs",),
    Column.memory: ("Activations",),
}


def _add_columns(
    table: Table, options: RenderOptions, rows: list[tuple[list[str | Text], str]]
) -> int:
    """Numbers never wrap, and a shape is never split: shape columns are as wide as their
    longest single shape (a cell with several wraps between them). The layer name and type
    share what is left of the terminal and fold when it is narrow."""
    headers = ["#", "Layer", "Type"] + [h for c in options.columns for h in _DATA_HEADERS[c]]
    is_shape = [h.endswith("shape") for h in headers]
    natural = [cell_len(h) for h in headers]
    for cells, _ in rows:
        for i, cell in enumerate(cells):
            text = cell.plain if isinstance(cell, Text) else cell
            pieces = text.split(" ") if is_shape[i] else [text]
            natural[i] = max(natural[i], *(cell_len(p) for p in pieces))
    fixed = sum(w for i, w in enumerate(natural) if i not in (1, 2)) + len(headers) - 1
    room = options.width - fixed
    if room < 16:
        # Even folded names leave no room: keep readable names and let the table run wider.
        room = min(natural[1], 20) + min(natural[2], 14)
    type_width = min(natural[2], max(8, room * 2 // 5))
    layer_width = min(natural[1], max(8, room - type_width))
    type_width = min(natural[2], max(8, room - layer_width))
    needed = fixed + layer_width + type_width
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("Layer", overflow="fold", max_width=layer_width)
    table.add_column("Type", overflow="fold", max_width=type_width)
    for i, header in enumerate(headers[3:], start=3):
        if is_shape[i]:
            table.add_column(header, width=natural[i])
        else:
            table.add_column(header, justify="right", no_wrap=True)
    return needed


# Row marks (``netinspect watch``: what changed since the previous run) and their style.
MARK_STYLES = {"changed": "bold magenta", "new": "bold green", "replaced": "bold magenta"}


def render_table(
    report: InspectionReport, options: RenderOptions, marks: Mapping[int, str] | None = None
) -> str:
    """The table; ``marks`` maps a row's ``index`` to a word shown after its name
    (``◀ changed``) and highlighted (``MARK_STYLES``)."""
    marks = marks or {}
    buffer = StringIO()
    title = f"{report.model.name} ({report.model.class_name})"
    caption = f"input {inputs_text(report)} · device {report.device}"
    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        # One space between columns, not two: the shapes fit in 80 columns.
        collapse_padding=True,
        expand=False,
    )
    flat_index = report.flatten.layer_index if report.flatten else None
    error_index = report.error.layer_index if report.error else None
    rows: list[tuple[list[str | Text], str]] = []
    base_depth = min((layer.depth for layer in report.layers), default=0)
    for layer in report.layers:
        label = Text("  " * (layer.depth - base_depth) + short_name(layer))
        style = ""
        if layer.index == flat_index:
            label.append(" ◀ flatten", style="bold")
            style = "bold yellow"
        mark = marks.get(layer.index)
        if mark is not None:
            label.append(f" ◀ {mark}", style="bold")
            style = MARK_STYLES.get(mark, "bold")
        if layer.index == error_index:
            label.append("  ✖ failed here", style="bold")
            style = "bold red"
        elif layer.kind == "function":
            style = style or "cyan"
        cells: list[str | Text] = [str(layer.index), label, layer.type]
        cells += column_cells(
            layer, options.columns, shape_sep=",", failed=layer.index == error_index
        )
        rows.append((cells, style))
    needed = _add_columns(table, options, rows)
    # Numbers are never cropped: when even the narrowest layout is wider than the terminal,
    # render it wider and let the terminal wrap the lines.
    console = make_console(buffer, replace(options, width=max(options.width, needed)))
    for cells, style in rows:
        table.add_row(*cells, style=style)
    console.print(table)
    if has_data_dependent_shapes(report):
        console.print(DATA_DEPENDENT_LEGEND)

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
        by_index = {layer.index: layer for layer in report.layers}
        lines = flatten_summary(
            report.flatten, report.symbolic, by_index.get(report.flatten.layer_index)
        )
        console.print(Text("Flatten point: ", style="bold yellow") + Text(lines[0]))
        for line in lines[1:]:
            console.print("  " + line)
    else:
        console.print("Flatten point: none (no row drops from >=3-D to 2-D)")
    summary = symbolic_lines(report) + totals_lines(report)
    label_width = max(len(k) for k, _ in summary)
    for key, value in summary:
        console.print(f"{key.ljust(label_width)}  {value}")
    for note in report.notes:
        console.print(Text("Note: ", style="bold") + Text(note))
    return buffer.getvalue()
