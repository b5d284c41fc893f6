"""``--format markdown``: a table and summary that read well in a pull-request comment."""

from __future__ import annotations

from collections.abc import Sequence

from netinspect.records import InspectionReport
from netinspect.render.flatten_text import flatten_absent_lines
from netinspect.render.options import DEFAULT_COLUMNS, Column
from netinspect.render.safe import markdown_code, markdown_text
from netinspect.render.symbolic_text import symbolic_lines
from netinspect.render.text import (
    DATA_DEPENDENT_LEGEND,
    column_cells,
    explanation_rows,
    failure_lines,
    flatten_summary,
    has_data_dependent_shapes,
    inputs_text,
    totals_lines,
)
from netinspect.render.training_text import training_lines


def _cell(text: str) -> str:
    return markdown_text(text)


# Indentation by depth stops here: a saved report's depth is a number from a file.
_MAX_INDENT_LEVELS = 24


_HEADERS: dict[Column, tuple[tuple[str, str], ...]] = {
    Column.shapes: (("Input shape", "---"), ("Output shape", "---")),
    Column.params: (("Params", "---:"),),
    Column.macs: (("MACs", "---:"),),
    Column.flops: (("FLOPs", "---:"),),
    Column.memory: (("Activations", "---:"),),
    Column.train: (("Train peak", "---:"),),
}


def render_markdown(
    report: InspectionReport, columns: Sequence[Column] = DEFAULT_COLUMNS, *, graph: bool = False
) -> str:
    """The table and summary; ``graph`` adds the folded Mermaid data-flow graph above them."""
    heads = [h for c in columns for h in _HEADERS[c]]
    out = [
        f"### {_cell(report.model.name)} ({_cell(report.model.class_name)})",
        "",
        f"Input: {_cell(inputs_text(report))} · device {markdown_code(report.device)}",
        "",
    ]
    if graph:
        from netinspect.render.mermaid import mermaid_block

        out += [mermaid_block(report.to_dict()).rstrip("\n"), ""]
    out += [
        "| # | Layer | Type | " + " | ".join(h for h, _ in heads) + " |",
        "|---:|---|---|" + "|".join(a for _, a in heads) + "|",
    ]
    flat_index = report.flatten.layer_index if report.flatten else None
    error_index = report.error.layer_index if report.error else None
    for layer in report.layers:
        name = markdown_code(layer.name) if layer.name else "(root)"
        if layer.call_index:
            name += f" (call {layer.call_index + 1})"
        if layer.repeat > 1:
            name += f" × {layer.repeat}"
        if layer.index == flat_index:
            name = f"**{name} ◀ flatten**"
        if layer.index == error_index:
            name = f"**{name} ✖ failed here**"
        indent = "&nbsp;&nbsp;" * max(0, min(layer.depth, _MAX_INDENT_LEVELS))
        cells = [str(layer.index), indent + name, _cell(layer.type)]
        failed = layer.index == error_index
        cells += [
            _cell(c)
            for c in column_cells(
                layer, columns, shape_sep=", ", failed=failed, training=report.training
            )
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if has_data_dependent_shapes(report):
        out += [_cell(DATA_DEPENDENT_LEGEND), ""]
    if report.explanations is not None:
        out += [
            "**Shape arithmetic** (stride and receptive field in input pixels, main path)",
            "",
            "| # | Layer | Arithmetic | Stride | Receptive field |",
            "|---:|---|---|---:|---:|",
        ]
        for index, name, arithmetic, stride, rf in explanation_rows(report):
            text = "<br>".join(_cell(part) for part in arithmetic.split("\n"))
            out.append(f"| {index} | {_cell(name)} | {text} | {stride} | {rf} |")
        out.append("")
    if report.error is not None:
        out.append("**Forward pass failed**")
        out.append("")
        out.extend(f"- **{k}:** {_cell(v)}" for k, v in failure_lines(report.error))
        out.append("")
    if report.flatten is not None:
        by_index = {layer.index: layer for layer in report.layers}
        lines = flatten_summary(
            report.flatten, report.symbolic, by_index.get(report.flatten.layer_index)
        )
        out.append(f"**Flatten point:** {lines[0]}  ")
        out.extend(f"{line}  " for line in lines[1:])
        out.append("")
    else:
        absent = flatten_absent_lines(report)
        out.append(f"**Flatten point:** {_cell(absent[0])}  ")
        out.extend(f"{_cell(line)}  " for line in absent[1:])
        out.append("")
    out.extend(f"- **{k or '…'}:** {_cell(v)}" for k, v in symbolic_lines(report))
    out.extend(f"- **{k}:** {v}" for k, v in totals_lines(report, quote=lambda op: f"`{op}`"))
    if report.training is not None:
        out.extend(f"- **{k.strip()}:** {_cell(v)}" for k, v in training_lines(report.training))
    out.extend(f"- **Note:** {_cell(note)}" for note in report.notes)
    return "\n".join(out) + "\n"
