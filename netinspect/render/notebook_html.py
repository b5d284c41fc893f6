"""The inline HTML views of reports, diffs and sizes in Jupyter, JupyterLab and VS Code.

Self-contained and script-free, so they read the same where a notebook is untrusted and its
outputs are sanitised: every style is an inline ``style`` attribute (a sanitiser that keeps
tags but drops ``<style>`` loses nothing), text takes the theme's colour (``color: inherit``)
and highlights are translucent, so one fragment reads in light and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

from netinspect.records import InspectionReport, LayerRecord
from netinspect.render.notebook import columns_of, shown_report
from netinspect.render.options import Column
from netinspect.render.safe import printable, printable_records
from netinspect.render.symbolic_text import symbolic_lines
from netinspect.render.text import (
    DATA_DEPENDENT_LEGEND,
    column_cells,
    failure_lines,
    flatten_summary,
    has_data_dependent_shapes,
    inputs_text,
    label_parts,
    totals_lines,
)

if TYPE_CHECKING:
    from netinspect.analysis.sizes import SizesReport
    from netinspect.compare.diff import LayerDiff, LayerView, ReportDiff

# Translucent tints: over a white or a black page they stay readable with inherited text.
_FLATTEN_BG = "rgba(234,179,8,.28)"
_ERROR_BG = "rgba(239,68,68,.25)"
_CARD_BG = "rgba(127,127,127,.10)"
_RULE = "rgba(127,127,127,.35)"
_MUTED = "opacity:.7"
_STATUS_BG = {
    "added": "rgba(34,197,94,.22)",
    "removed": "rgba(239,68,68,.22)",
    "replaced": "rgba(168,85,247,.22)",
    "changed": "rgba(234,179,8,.25)",
    "renamed": "rgba(6,182,212,.22)",
}
_BOX = (
    "font-family:var(--jp-ui-font-family,system-ui,-apple-system,'Segoe UI',sans-serif);"
    "font-size:13px;line-height:1.45;color:inherit;max-width:100%"
)
_CARD = f"background:{_CARD_BG};border:1px solid {_RULE};border-radius:6px;padding:6px 10px;"
_MONO = "font-family:var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,monospace)"
_CELL = f"padding:2px 10px 2px 0;border-bottom:1px solid {_RULE};vertical-align:top;"
# Layer rows: the rule on the row, a short padding on each cell.
_ROW = "border-bottom:1px solid rgba(127,127,127,.22)"
_TD = "padding:1px 8px"
# The header row stays in view while the rows scroll under it: a translucent tint over a blur
# reads in any theme (an opaque colour would have to guess the theme's background).
_HEAD = (
    f"{_CELL}padding-left:8px;position:sticky;top:0;text-align:left;font-weight:600;"
    "background:rgba(127,127,127,.38);backdrop-filter:blur(10px);"
    "-webkit-backdrop-filter:blur(10px);"
)
# Rows scroll inside the view past this height, so the summary above stays on screen.
_SCROLL = "max-height:34em;overflow:auto;margin-top:8px"
_HEADERS: dict[Column, tuple[str, ...]] = {
    Column.shapes: ("Input shape", "Output shape"),
    Column.params: ("Params",),
    Column.macs: ("MACs",),
    Column.flops: ("FLOPs",),
    Column.memory: ("Activations",),
}
# Indentation stops growing here, so a deep tree keeps readable rows.
_MAX_INDENT = 16


def _text(value: str) -> str:
    return escape(printable(value))


def _definitions(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(
        f'<tr><td style="padding:1px 12px 1px 0;font-weight:600;white-space:nowrap;'
        f'vertical-align:top">{_text(k)}</td><td style="padding:1px 0">{_text(v)}</td></tr>'
        for k, v in pairs
    )
    return f'<table style="border-collapse:collapse;margin:0">{rows}</table>'


def _layer_row(
    layer: LayerRecord, columns: Sequence[Column], base: int, flat: int | None, err: int | None
) -> str:
    """One row, its styles kept short: a model of thousands of rows stays a light output."""
    name, marks = label_parts(layer)
    row_style = _ROW
    tag = ""
    if layer.index == flat:
        row_style += f";background:{_FLATTEN_BG};font-weight:600"
        tag = " ◀ flatten"
    if layer.index == err:
        row_style += f";background:{_ERROR_BG};font-weight:600"
        tag = " ✖ failed here"
    indent = 8 + min(max(layer.depth - base, 0), _MAX_INDENT) * 14
    label = " ".join([name, *marks])
    is_op = layer.kind == "function"
    cells = [
        f'<td style="{_TD};{_MUTED};text-align:right">{layer.index}</td>',
        f'<td style="padding:1px 8px 1px {indent}px;white-space:nowrap'
        f'{";font-style:italic" if is_op else ""}" title="{_text(layer.name or "(root)")}">'
        f"{_text(label)}{tag}</td>",
        f'<td style="{_TD}{";" + _MUTED if is_op else ""}">{_text(layer.type)}</td>',
    ]
    values = column_cells(layer, columns, shape_sep=", ", failed=layer.index == err)
    heads = [h for c in columns for h in _HEADERS[c]]
    for head, value in zip(heads, values, strict=True):
        align = "" if head.endswith("shape") else ";text-align:right"
        cells.append(f'<td style="{_TD};white-space:nowrap{align}">{_text(value)}</td>')
    return f'<tr style="{row_style}">{"".join(cells)}</tr>'


def _layers_table(report: InspectionReport, columns: Sequence[Column]) -> str:
    heads = ["#", "Layer", "Type"] + [h for c in columns for h in _HEADERS[c]]
    head = "".join(f'<th style="{_HEAD}">{escape(h)}</th>' for h in heads)
    flat = report.flatten.layer_index if report.flatten else None
    err = report.error.layer_index if report.error else None
    base = min((layer.depth for layer in report.layers), default=0)
    body = "".join(_layer_row(layer, columns, base, flat, err) for layer in report.layers)
    return (
        f'<div style="{_SCROLL}"><table style="border-collapse:collapse;margin:0;{_MONO};'
        f'font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _flatten_card(report: InspectionReport) -> str:
    if report.flatten is None:
        why = (
            "not reached: the forward pass failed before any row dropped to 2-D"
            if report.error is not None
            else "none (no row drops from >=3-D to 2-D)"
        )
        return f'<div style="{_CARD}"><b>Flatten point:</b> {escape(why)}</div>'
    by_index = {layer.index: layer for layer in report.layers}
    lines = flatten_summary(
        report.flatten, report.symbolic, by_index.get(report.flatten.layer_index)
    )
    rest = "".join(f'<div style="{_MONO}">{_text(line)}</div>' for line in lines[1:])
    return (
        f'<div style="{_CARD}background:{_FLATTEN_BG}"><b>Flatten point:</b> '
        f"{_text(lines[0])}{rest}</div>"
    )


def report_html_view(
    report: InspectionReport,
    *,
    depth: int | None = None,
    columns: str | Sequence[object] | None = None,
    collapse: bool | None = None,
) -> str:
    """The inline view: title and inputs, the flatten card, a failure block, totals and notes,
    then every row (the flatten row marked) in a scrolling table. Nothing is collapsed unless
    asked (``collapse``, or the report's own ``DisplayOptions``): a notebook has the room."""
    chosen = columns_of(columns, report)
    report = printable_records(shown_report(report, depth, collapse, default_collapse=False))
    title = (
        f'<div style="font-size:15px;font-weight:600">{_text(report.model.name)} '
        f'<span style="{_MUTED};font-weight:400">({_text(report.model.class_name)})</span></div>'
        f'<div style="{_MUTED}">input {_text(inputs_text(report))} · device '
        f"{_text(report.device)} · {len(report.layers)} rows</div>"
    )
    parts = [title, '<div style="display:flex;flex-wrap:wrap;gap:8px;margin-top:6px">']
    parts.append(_flatten_card(report))
    parts.append(f'<div style="{_CARD}">{_definitions(totals_lines(report))}</div></div>')
    if report.error is not None:
        parts.append(
            f'<div style="{_CARD}background:{_ERROR_BG};margin-top:8px">'
            f"<b>Forward pass failed</b>{_definitions(failure_lines(report.error))}</div>"
        )
    extra = symbolic_lines(report) + [("Note", note) for note in report.notes]
    if extra:
        parts.append(f'<div style="margin-top:6px">{_definitions(extra)}</div>')
    parts.append(_layers_table(report, chosen))
    if has_data_dependent_shapes(report):
        parts.append(f'<div style="{_MUTED}">{escape(DATA_DEPENDENT_LEGEND)}</div>')
    parts.append(
        f'<div style="{_MUTED};margin-top:4px;font-size:12px">Hover a layer for its dotted name. '
        "<code>report.show_graph()</code>: the interactive graph · <code>print(report)</code>: "
        "the table · <code>report.markdown()</code>, <code>.json()</code>, "
        "<code>.html()</code>, <code>.mermaid()</code></div>"
    )
    return f'<div class="netinspect-report" style="{_BOX}">{"".join(parts)}</div>'


# --- diffs and sizes ------------------------------------------------------------------------


def _side(view: LayerView | None) -> str:
    from netinspect.render.diff import _side_cell

    text = _side_cell(view, set(), dim=False).plain
    return "<br>".join(_text(line) for line in text.splitlines())


def _diff_row(row: LayerDiff) -> str:
    from netinspect.render.diff import row_label

    bg = _STATUS_BG.get(row.status, "")
    changed = "; ".join(c.field.replace("_", " ") for c in row.changes)
    return (
        f'<tr style="background:{bg}"><td style="{_CELL}font-weight:600">{escape(row.status)}'
        f'</td><td style="{_CELL}{_MONO}">{_text(row_label(row))}</td>'
        f'<td style="{_CELL}{_MONO}">{_side(row.old)}</td>'
        f'<td style="{_CELL}{_MONO}">{_side(row.new)}</td>'
        f'<td style="{_CELL}{_MUTED}">{_text(changed)}</td></tr>'
    )


def diff_html_view(diff: ReportDiff) -> str:
    """The differing rows side by side (status tinted), report-level changes, the verdict."""
    from netinspect.render.diff import report_change_lines, summary_line

    diff = printable_records(diff)
    parts = [
        f'<div style="font-size:15px;font-weight:600">{_text(diff.old_label)} → '
        f"{_text(diff.new_label)}</div>",
        f'<div style="{_CARD}margin-top:6px;display:inline-block">'
        f"{_text(summary_line(diff))}</div>",
    ]
    changes = report_change_lines(diff)
    if changes:
        items = "".join(f"<li>{_text(line)}</li>" for line in changes)
        parts.append(f'<ul style="margin:6px 0;padding-left:20px">{items}</ul>')
    rows = diff.layer_changes
    if rows:
        head = "".join(
            f'<th style="{_HEAD}">{h}</th>' for h in ("", "Layer", "Before", "After", "Differs")
        )
        body = "".join(_diff_row(row) for row in rows)
        parts.append(
            f'<div style="{_SCROLL}"><table style="border-collapse:collapse;margin:0">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )
    return f'<div class="netinspect-diff" style="{_BOX}">{"".join(parts)}</div>'


def sizes_html_view(report: SizesReport) -> str:
    """The summary in a card, then the per-dim details as ``netinspect sizes`` prints them."""
    from netinspect.render.sizes_format import render_sizes_text

    first, _, rest = render_sizes_text(report).partition("\n")
    return (
        f'<div class="netinspect-sizes" style="{_BOX}">'
        f'<div style="font-size:15px;font-weight:600">{_text(report.model)}</div>'
        f'<div style="{_CARD}margin-top:6px">{_text(first)}</div>'
        f'<pre style="{_MONO};white-space:pre-wrap;margin:6px 0;background:none;'
        f'color:inherit">{_text(rest.strip())}</pre></div>'
    )
