"""``--format markdown``: a table and summary that read well in a pull-request comment."""

from __future__ import annotations

from netinspect.records import InspectionReport
from netinspect.render.text import (
    explanation_rows,
    failure_lines,
    flatten_summary,
    fmt_params,
    fmt_shapes,
    inputs_text,
    totals_lines,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: InspectionReport) -> str:
    out = [
        f"### {report.model.name} ({report.model.class_name})",
        "",
        f"Input: {inputs_text(report)} · device `{report.device}`",
        "",
        "| # | Layer | Type | Input shape | Output shape | Params |",
        "|---:|---|---|---|---|---:|",
    ]
    flat_index = report.flatten.layer_index if report.flatten else None
    error_index = report.error.layer_index if report.error else None
    for layer in report.layers:
        name = f"`{layer.name}`" if layer.name else "(root)"
        if layer.call_index:
            name += f" (call {layer.call_index + 1})"
        if layer.index == flat_index:
            name = f"**{name} ◀ flatten**"
        if layer.index == error_index:
            name = f"**{name} ✖ failed here**"
        out.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    str(layer.index),
                    "&nbsp;&nbsp;" * layer.depth + name,
                    layer.type,
                    fmt_shapes(layer.input_shapes),
                    fmt_shapes(layer.output_shapes),
                    fmt_params(layer),
                )
            )
            + " |"
        )
    out.append("")
    if report.explanations is not None:
        out += [
            "**Shape arithmetic** (stride and receptive field in input pixels, main path)",
            "",
            "| # | Layer | Arithmetic | Stride | Receptive field |",
            "|---:|---|---|---:|---:|",
        ]
        for index, name, arithmetic, stride, rf in explanation_rows(report):
            text = _cell(arithmetic.replace("\n", "<br>"))
            out.append(f"| {index} | {_cell(name)} | {text} | {stride} | {rf} |")
        out.append("")
    if report.error is not None:
        out.append("**Forward pass failed**")
        out.append("")
        out.extend(f"- **{k}:** {_cell(v)}" for k, v in failure_lines(report.error))
        out.append("")
    if report.flatten is not None:
        lines = flatten_summary(report.flatten)
        out.append(f"**Flatten point:** {lines[0]}  ")
        out.extend(f"{line}  " for line in lines[1:])
        out.append("")
    out.extend(f"- **{k}:** {v}" for k, v in totals_lines(report))
    out.extend(f"- **Note:** {note}" for note in report.notes)
    return "\n".join(out) + "\n"
