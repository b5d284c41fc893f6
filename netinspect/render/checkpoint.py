"""``netinspect FILE``: a checkpoint as a table, markdown or JSON (pure functions, no torch)."""

from __future__ import annotations

import json
from io import StringIO

from rich.table import Table
from rich.text import Text

from netinspect.analysis.checkpoint_tree import TreeRow, checkpoint_tree
from netinspect.checkpoint_records import CheckpointReport
from netinspect.checkpoint_serialize import checkpoint_to_dict, dtype_totals
from netinspect.render.options import RenderOptions
from netinspect.render.safe import printable, printable_json
from netinspect.render.table import make_console
from netinspect.render.text import fmt_bytes, fmt_int, fmt_shape

_MAX_INDENT = 12


def _lines(rows: tuple[TreeRow, ...]) -> list[tuple[str, str, str, str, str, bool]]:
    """(name, shape, dtype, elements, bytes, is_module) for each module and its tensors."""
    out: list[tuple[str, str, str, str, str, bool]] = []
    for row in rows:
        indent = "  " * min(row.depth, _MAX_INDENT)
        # Below the top, a row is named relative to its parent row (the JSON keeps full keys).
        parent = row.name.rpartition(".")[0]
        label = "." + row.name[len(parent) + 1 :] if row.depth and parent else row.name
        label = label or "(top level)"
        repeat = f" × {row.repeat}" if row.repeat > 1 else ""
        out.append(
            (indent + label + repeat, "", "", fmt_int(row.numel), fmt_bytes(row.nbytes), True)
        )
        tensor_indent = indent + "  "
        for t in row.tensors:
            out.append(
                (tensor_indent + "." + t.key, fmt_shape(t.shape), t.dtype, fmt_int(t.numel),
                 fmt_bytes(t.nbytes), False)
            )  # fmt: skip
    return out


def summary_lines(report: CheckpointReport) -> list[tuple[str, str]]:
    total_numel = sum(t.numel for t in report.tensors)
    total_bytes = sum(t.nbytes for t in report.tensors)
    lines = [
        ("Checkpoint", report.path),
        (
            "Format",
            report.format + (f", {len(report.files)} files" if len(report.files) > 1 else ""),
        ),
    ]
    if report.unwrapped:
        lines.append(("Unwrapped", " → ".join(report.unwrapped)))
    if report.config:
        lines.append(("Config", ", ".join(f"{k}: {v}" for k, v in report.config.items())))
    lines.append(
        (
            "Tensors",
            f"{fmt_int(len(report.tensors))}, {fmt_int(total_numel)} elements, {fmt_bytes(total_bytes)}",
        )
    )
    for dtype, row in dtype_totals(report.tensors).items():
        lines.append(
            (f"  {dtype}", f"{fmt_int(row['tensors'])} tensors, {fmt_int(row['numel'])} elements, "
             f"{fmt_bytes(row['bytes'])}")
        )  # fmt: skip
    if report.architecture is not None:
        arch = report.architecture
        lines.append(
            ("Architecture", f"{arch.description} ({arch.matching} of {arch.total} tensors match)")
        )
    else:
        lines.append(("Architecture", "no known architecture matches"))
    lines += [("Searched", s) for s in report.searched]
    for key, value in list(report.metadata.items())[:12]:
        lines.append(("Metadata", f"{key}: {value}"))
    lines += [("Note", n) for n in report.notes]
    return lines


def render_checkpoint_table(
    report: CheckpointReport, options: RenderOptions, *, depth: int | None = None
) -> str:
    buffer = StringIO()
    console = make_console(buffer, options)
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("Tensor", overflow="fold")
    for header in ("Shape", "Dtype"):
        table.add_column(header, no_wrap=True)
    for header in ("Elements", "Bytes"):
        table.add_column(header, justify="right", no_wrap=True)
    for name, shape, dtype, numel, nbytes, is_module in _lines(
        checkpoint_tree(report.tensors, depth=depth)
    ):
        style = "bold" if is_module else ""
        table.add_row(
            Text(printable(name, one_line=True), style=style), shape, dtype, numel, nbytes
        )
    console.print(table)
    console.print()
    for label, value in summary_lines(report):
        console.print(Text(f"{label}: ", style="bold") + Text(printable(value, one_line=True)))
    return buffer.getvalue()


def _md(text: str) -> str:
    return printable(text, one_line=True).replace("|", "\\|")


def render_checkpoint_markdown(report: CheckpointReport, *, depth: int | None = None) -> str:
    out = [f"# Checkpoint `{_md(report.path)}`", ""]
    out += [
        f"- **{_md(label.strip())}**: {_md(value)}" for label, value in summary_lines(report)[1:]
    ]
    out += ["", "| Tensor | Shape | Dtype | Elements | Bytes |", "|---|---|---|---:|---:|"]
    for name, shape, dtype, numel, nbytes, is_module in _lines(
        checkpoint_tree(report.tensors, depth=depth)
    ):
        cell = _md(name.strip())
        pad = "&nbsp;" * (len(name) - len(name.lstrip()))
        label = f"{pad}**{cell}**" if is_module else f"{pad}`{cell}`"
        out.append(f"| {label} | {shape} | {dtype} | {numel} | {nbytes} |")
    return "\n".join(out) + "\n"


def render_checkpoint_json(report: CheckpointReport) -> str:
    return printable_json(
        json.dumps(checkpoint_to_dict(report), indent=2, ensure_ascii=False) + "\n"
    )
