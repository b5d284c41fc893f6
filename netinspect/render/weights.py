"""``--weights``: one row per tensor (key, checkpoint shape and dtype, model shape and dtype,
status) and the counts, as a table, markdown or JSON. Pure functions, no torch."""

from __future__ import annotations

import json
from io import StringIO

from rich.table import Table
from rich.text import Text

from netinspect.checkpoint_records import LOADED, WeightsReport
from netinspect.checkpoint_serialize import weight_counts, weights_to_dict
from netinspect.render.options import RenderOptions
from netinspect.render.safe import printable, printable_json
from netinspect.render.table import make_console
from netinspect.render.text import fmt_shape

_STYLES = {LOADED: "green", "shape mismatch": "red", "missing in checkpoint": "yellow",
           "unexpected in checkpoint": "magenta"}  # fmt: skip


def _side(shape: tuple[int, ...] | None, dtype: str | None) -> str:
    return "-" if shape is None else f"{fmt_shape(shape)} {dtype}"


def weights_summary(report: WeightsReport) -> list[str]:
    """The count line, then what was stripped, loaded, and what keeps its initialisation."""
    counts = weight_counts(report)
    total = sum(1 for r in report.rows if r.model_shape is not None)
    rest = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != LOADED)
    lines = [
        f"{counts[LOADED]} of {total} model tensors match {report.path}"
        + (f" ({rest})" if rest else "")
    ]
    if report.unwrapped:
        lines.append(f"state dict found under {' → '.join(report.unwrapped)}")
    lines += list(report.notes)
    if report.is_partial:
        verb = "loaded" if report.values_loaded else "would load (meta device: shapes only)"
        lines.append(
            f"partial load: {verb} {counts[LOADED]} tensors; the rest are left as they were"
        )
        if report.random_init:
            lines.append("keep their random initialisation: " + ", ".join(report.random_init))
    return lines


def render_weights_table(
    report: WeightsReport, options: RenderOptions, *, only_problems: bool = False
) -> str:
    """The per-tensor table (``only_problems``: rows that did not load, for a report that
    already shows the model's layers)."""
    buffer = StringIO()
    console = make_console(buffer, options)
    rows = [r for r in report.rows if not only_problems or r.status != LOADED]
    if rows:
        table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
        for header in ("Tensor", "Checkpoint", "Model", "Status"):
            table.add_column(header, no_wrap=header != "Tensor", overflow="fold")
        for r in rows:
            table.add_row(
                Text(printable(r.key, one_line=True)),
                _side(r.checkpoint_shape, r.checkpoint_dtype),
                _side(r.model_shape, r.model_dtype),
                Text(r.status, style=_STYLES.get(r.status, "")),
            )
        console.print(table)
        console.print()
    for line in weights_summary(report):
        console.print(Text("Weights: ", style="bold") + Text(printable(line, one_line=True)))
    return buffer.getvalue()


def render_weights_markdown(report: WeightsReport, *, only_problems: bool = False) -> str:
    out = ["## Weights", ""]
    out += [f"- {printable(line, one_line=True)}" for line in weights_summary(report)]
    rows = [r for r in report.rows if not only_problems or r.status != LOADED]
    if rows:
        out += ["", "| Tensor | Checkpoint | Model | Status |", "|---|---|---|---|"]
        for r in rows:
            key = printable(r.key, one_line=True).replace("|", "\\|")
            out.append(
                f"| `{key}` | {_side(r.checkpoint_shape, r.checkpoint_dtype)} | "
                f"{_side(r.model_shape, r.model_dtype)} | {r.status} |"
            )
    return "\n".join(out) + "\n"


def render_weights_json(report: WeightsReport) -> str:
    """A mismatch on its own (exit 2): ``{"weights": {...}}``, the inspection report's key."""
    return printable_json(json.dumps({"weights": weights_to_dict(report)}, indent=2) + "\n")
