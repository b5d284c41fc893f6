"""``--format table``: a Rich table with the flatten row highlighted and a totals footer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from io import StringIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netinspect.records import InspectionReport, LayerRecord
from netinspect.render.flatten_text import flatten_absent_lines
from netinspect.render.layout import (
    Piece,
    fit_widths,
    fold,
    full_width,
    min_width,
    name_pieces,
    table_overhead,
    word_pieces,
)
from netinspect.render.options import Column, RenderOptions
from netinspect.render.safe import printable_records
from netinspect.render.symbolic_text import sym_shape_parts, symbolic_lines
from netinspect.render.text import (
    DATA_DEPENDENT_LEGEND,
    DATA_DEPENDENT_MARK,
    column_cells,
    explanation_rows,
    failure_lines,
    flatten_summary,
    has_data_dependent_shapes,
    inputs_text,
    label_parts,
    shape_parts,
    totals_lines,
)
from netinspect.render.training_text import training_lines
from netinspect.training_records import TrainingRecord


def make_console(buffer: StringIO, options: RenderOptions) -> Console:
    """A console that writes to ``buffer``: colour only when asked, never a pager or wrap."""
    return Console(
        file=buffer,
        width=options.width,
        color_system="standard" if options.color else None,
        force_terminal=options.color,
        no_color=not options.color,
        highlight=False,
        # Text from models and files is printed as it is: "[/]" in a name is not markup.
        markup=False,
        emoji=False,
        soft_wrap=False,
        # In a notebook kernel Rich would display in the cell rather than write to ``buffer``.
        force_jupyter=False,
    )


_DATA_HEADERS: dict[Column, tuple[str, ...]] = {
    Column.shapes: ("Input shape", "Output shape"),
    Column.params: ("Params",),
    Column.macs: ("MACs",),
    Column.flops: ("FLOPs",),
    Column.memory: ("Activations",),
    Column.train: ("Train peak",),
}
# Deeper rows are indented as deep as this: a 240-deep tree keeps a readable table.
_MAX_INDENT_LEVELS = 24

# A cell: pieces that fold only between them (a name, shapes), or a string that never wraps
# (a type name, a number). Each row: its cells, the name's indent, the row's style.
Cell = list[Piece] | str
Row = tuple[list[Cell], str, str]


# Two spaces between columns, or one when two would not fit the terminal.
_PADDINGS = ((0, 1), (0, 0))


def _main_table(
    title: str | None = None, caption: str | None = None, padding: tuple[int, int] = (0, 1)
) -> Table:
    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=padding,
        collapse_padding=True,
        expand=False,
    )


def _layout(
    options: RenderOptions, headers: list[str], rows: list[Row]
) -> tuple[tuple[int, int], list[int], int]:
    """Fixed column widths (see ``render.layout``): the layer column (1) may fold its names at
    dots, a shape column folds between shapes, everything else is as wide as its widest cell.
    Returns the padding, the widths and the width of the whole table (the real spacing of the
    rendered table counted, measured with ``table_overhead``)."""
    is_shape = [h.endswith("shape") for h in headers]
    minimums = [cell_len(h) for h in headers]
    naturals = list(minimums)
    for cells, indent, _ in rows:
        for i, cell in enumerate(cells):
            lead = indent if i == 1 else ""
            if isinstance(cell, str):
                low = high = cell_len(cell)
            else:
                low, high = min_width(cell, lead), full_width(cell, lead)
            minimums[i] = max(minimums[i], low)
            naturals[i] = max(naturals[i], high)
    grow = [1] + [i for i, shape in enumerate(is_shape) if shape]
    for padding in _PADDINGS:
        overhead = table_overhead(functools.partial(_main_table, padding=padding), len(headers))
        widths = fit_widths(minimums, naturals, options.width - overhead, grow)
        if sum(widths) + overhead <= options.width:
            break
    return padding, widths, sum(widths) + overhead


def _add_columns(table: Table, headers: list[str], widths: list[int]) -> None:
    for i, (header, width) in enumerate(zip(headers, widths, strict=True)):
        is_text = i in (1, 2) or header.endswith("shape")
        table.add_column(
            header,
            justify="left" if is_text else "right",
            style="dim" if i == 0 else "",
            width=width,
            no_wrap=True,
            overflow="fold",
        )


def _row(
    layer: LayerRecord,
    options: RenderOptions,
    base_depth: int,
    marks: Mapping[int, str],
    flat_index: int | None,
    error_index: int | None,
    training: TrainingRecord | None = None,
) -> Row:
    name, name_marks = label_parts(layer)
    label = name_pieces(name) + word_pieces(name_marks)
    style = ""
    if layer.index == flat_index:
        label.append((" ", "◀ flatten", "bold"))
        style = "bold yellow"
    mark = marks.get(layer.index)
    if mark is not None:
        label.append((" ", f"◀ {mark}", "bold"))
        style = MARK_STYLES.get(mark, "bold")
    if layer.index == error_index:
        label.append(("  ", "✖ failed here", "bold"))
        style = "bold red"
    elif layer.kind == "function":
        style = style or "cyan"
    cells: list[Cell] = [str(layer.index), label, layer.type]
    failed = layer.index == error_index
    for column in options.columns:
        value_mark = DATA_DEPENDENT_MARK if layer.data_dependent else ""
        if column is Column.shapes and layer.input_shapes_symbolic is not None:
            cells.append(word_pieces(sym_shape_parts(layer.input_shapes_symbolic, sep=",")))
            outputs = layer.output_shapes_symbolic or ()
            cells.append(word_pieces(sym_shape_parts(outputs, sep=",", mark=value_mark)))
        elif column is Column.shapes:
            cells.append(word_pieces(shape_parts(layer.input_shapes, sep=",")))
            # A row that raised has no output: mark it rather than show "-".
            no_output = failed and not layer.output_shapes
            cells.append(
                "✖"
                if no_output
                else word_pieces(shape_parts(layer.output_shapes, sep=",", mark=value_mark))
            )
        else:
            cells += column_cells(layer, (column,), shape_sep=",", failed=failed, training=training)
    indent = "  " * min(layer.depth - base_depth, _MAX_INDENT_LEVELS)
    return cells, indent, style


def _explain_table(padding: tuple[int, int] = (0, 1)) -> Table:
    return Table(title="Shape arithmetic", box=box.SIMPLE_HEAD, pad_edge=False, padding=padding)


def _print_explanations(console: Console, report: InspectionReport, width: int) -> None:
    """The --explain table: a layer's dotted name folds after a dot, its type stays whole,
    the arithmetic wraps between words."""
    rows = []
    for index, label, arithmetic, stride, field in explanation_rows(report):
        name, _, type_name = label.rpartition(" (")
        pieces = [*name_pieces(name), (" ", f"({type_name}", "")]
        rows.append((index, pieces, arithmetic, stride, field))
    headers = ["#", "Layer", "Arithmetic", "Stride", "RF"]
    words = [w for r in rows for line in r[2].splitlines() for w in line.split(" ")]
    lines = [line for r in rows for line in r[2].splitlines()]
    minimums = [
        max([1, *(cell_len(r[0]) for r in rows)]),
        max([5, *(min_width(r[1]) for r in rows)]),
        max([10, *(cell_len(w) for w in words)]),
        max([6, *(cell_len(r[3]) for r in rows)]),
        max([2, *(cell_len(r[4]) for r in rows)]),
    ]
    naturals = list(minimums)
    naturals[1] = max([5, *(full_width(r[1]) for r in rows)])
    naturals[2] = max([10, *(cell_len(line) for line in lines)])
    overhead = table_overhead(_explain_table, len(headers))
    widths = fit_widths(minimums, naturals, width - overhead, [1, 2])
    table = _explain_table()
    for i, (header, size) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(
            header,
            justify="right" if i in (0, 3, 4) else "left",
            style="dim" if i == 0 else "",
            width=size,
            no_wrap=i != 2,
            overflow="fold",
        )
    for index, pieces, arithmetic, stride, field in rows:
        table.add_row(index, fold(pieces, widths[1]), arithmetic, stride, field)
    console.print(table)
    console.print(
        "Stride: input pixels between neighbouring outputs; RF: receptive field in input "
        "pixels (main path)."
    )


# Row marks (``netinspect watch``: what changed since the previous run) and their style.
MARK_STYLES = {"changed": "bold magenta", "new": "bold green", "replaced": "bold magenta"}


def render_table(
    report: InspectionReport, options: RenderOptions, marks: Mapping[int, str] | None = None
) -> str:
    """The table; ``marks`` maps a row's ``index`` to a word shown after its name
    (``◀ changed``) and highlighted (``MARK_STYLES``)."""
    marks = marks or {}
    buffer = StringIO()
    report = printable_records(report)
    title = f"{report.model.name} ({report.model.class_name})"
    caption = f"input {inputs_text(report)} · device {report.device}"
    flat_index = report.flatten.layer_index if report.flatten else None
    error_index = report.error.layer_index if report.error else None
    base_depth = min((layer.depth for layer in report.layers), default=0)
    rows = [
        _row(layer, options, base_depth, marks, flat_index, error_index, report.training)
        for layer in report.layers
    ]
    headers = ["#", "Layer", "Type"] + [h for c in options.columns for h in _DATA_HEADERS[c]]
    padding, widths, needed = _layout(options, headers, rows)
    table = _main_table(title, caption, padding)
    _add_columns(table, headers, widths)
    # Nothing is ever split: when even the narrowest layout is wider than the terminal, render
    # it wider and let the terminal wrap the lines.
    console = make_console(buffer, replace(options, width=max(options.width, needed)))
    for cells, indent, style in rows:
        folded = [
            cell if isinstance(cell, str) else fold(cell, col.width or 0, indent if i == 1 else "")
            for i, (cell, col) in enumerate(zip(cells, table.columns, strict=True))
        ]
        table.add_row(*folded, style=style)
    if report.explanations is not None:
        # --explain answers how each shape came about: its arithmetic table takes the layer
        # table's place (the plain run already showed that one), under the same title.
        console.print(Text(title, style="bold"))
        console.print(Text(caption, style="dim"))
        _print_explanations(console, report, options.width)
    else:
        console.print(table)
    if has_data_dependent_shapes(report):
        console.print(DATA_DEPENDENT_LEGEND)

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
        absent = flatten_absent_lines(report)
        console.print(Text("Flatten point: " + absent[0]))
        for line in absent[1:]:
            console.print(Text("  " + line))
    summary = symbolic_lines(report) + totals_lines(report)
    if report.training is not None:
        summary += training_lines(report.training)
    label_width = max(len(k) for k, _ in summary)
    for key, value in summary:
        console.print(f"{key.ljust(label_width)}  {value}")
    for note in report.notes:
        console.print(Text("Note: ", style="bold") + Text(note))
    return buffer.getvalue()
