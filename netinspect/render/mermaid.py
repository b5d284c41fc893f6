"""``--format mermaid``: the data-flow graph, folded, as a Mermaid flowchart.

GitHub renders a fenced ``mermaid`` block in issues, pull requests and Markdown files, so a PR
comment can show the shape flow. The graph is the one the HTML page opens with (see
``netinspect.render.graph``) under a smaller budget: repeated blocks are one node
(``layer1.1–2 × 2``), containers unfold breadth-first while the chart stays small, and edges are
labelled with the tensor shapes. The flatten point and a failing row are styled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netinspect.render.graph import (
    INPUT_ID,
    OUTPUT_ID,
    Graph,
    build_graph,
    flatten_consumers,
    row_id,
    row_position,
    shape_text,
)
from netinspect.render.graph_fold import (
    default_folded,
    node_title,
    node_type,
    output_source,
    producer_node,
    visible_edges,
)
from netinspect.render.safe import mermaid_label

# Nodes shown before containers stop unfolding: a chart that still reads in a PR comment.
MERMAID_BUDGET = 40


def _text(text: str) -> str:
    """A quoted Mermaid label: one line, quotes and markup characters as entity codes."""
    return mermaid_label(text)


def _flatten_line(report: Mapping[str, Any]) -> str | None:
    """``flatten: 512×7×7 = 25,088``; a reduction or a selection says so instead."""
    flatten = report.get("flatten")
    if not isinstance(flatten, Mapping):
        return None
    dims = flatten.get("flattened_dims") or []
    out = flatten.get("output_shape") or []
    operation = flatten.get("operation") or "flattens"
    if operation == "flattens" and len(dims) > 1 and len(out) > 1:
        return "flatten: " + "×".join(str(d) for d in dims) + f" = {int(out[1]):,}"
    verb = "flatten" if operation == "flattens" else operation
    return f"{verb}: " + shape_text(flatten.get("input_shape") or []) + " → " + shape_text(out)


def _node_line(
    graph: Graph, report: Mapping[str, Any], view_id: str, folded: frozenset[str]
) -> str:
    label = f"{node_title(graph, view_id)}<br/>{node_type(graph, view_id)}"
    pos = row_position(view_id)
    flatten = report.get("flatten") or {}
    error = report.get("error") or {}
    if pos is not None and graph.rows[pos]["index"] == flatten.get("layer_index"):
        label += "<br/>" + (_flatten_line(report) or "")
    if pos is not None and graph.rows[pos]["index"] == error.get("layer_index"):
        label += "<br/>✖ failed here"
    text = _text(label).replace("#lt;br/#gt;", "<br/>")
    if view_id.startswith("g") or (graph.kids.get(view_id) and view_id in folded):
        return f'{view_id}[["{text}"]]'  # a folded block: the "subroutine" shape
    if pos is not None and graph.rows[pos]["kind"] == "function":
        return f'{view_id}("{text}")'
    return f'{view_id}["{text}"]'


def render_mermaid(report: Mapping[str, Any], budget: int = MERMAID_BUDGET) -> str:
    """The flowchart source (no fences), from a report dict."""
    graph = build_graph(report)
    folded = default_folded(graph, budget)
    lines = ["flowchart TD"]
    inputs = report.get("inputs") or []
    in_text = ", ".join(f"{i['name']} {shape_text(i['shape'])}" for i in inputs) or "input"
    lines.append(f'  {INPUT_ID}(["{_text(in_text)}"])')

    def emit(view_id: str, indent: str) -> None:
        inner = graph.kids.get(view_id, ())
        if inner and view_id not in folded:
            title = f"{node_title(graph, view_id)} · {node_type(graph, view_id)}"
            lines.append(f'{indent}subgraph {view_id}["{_text(title)}"]')
            for k in inner:
                emit(k, indent + "  ")
            lines.append(f"{indent}end")
        else:
            lines.append(indent + _node_line(graph, report, view_id, folded))

    for view_id in graph.kids.get("", ()):
        emit(view_id, "  ")
    edges = visible_edges(graph, folded)
    last = output_source(graph)
    outputs = report.get("outputs") or []
    if last is not None and outputs and report.get("error") is None:
        out_text = ", ".join(shape_text(s) for s in outputs[:4])
        lines.append(f'  {OUTPUT_ID}(["output {_text(out_text)}"])')
        edges.append((producer_node(graph, last, folded), OUTPUT_ID, ""))
    for source, target, label in edges:
        arrow = f'-->|"{_text(label)}"|' if label else "-->"
        lines.append(f"  {source} {arrow} {target}")
    lines += [
        "  classDef flatten fill:#fff3c4,stroke:#d97706,stroke-width:3px",
        "  classDef consumer stroke:#d97706,stroke-width:2px,stroke-dasharray:4 3",
        "  classDef failed fill:#fee2e2,stroke:#dc2626,stroke-width:3px,color:#7f1d1d",
    ]
    flatten = report.get("flatten") or {}
    error = report.get("error") or {}
    positions = {row["index"]: i for i, row in enumerate(graph.rows)}
    for cls, index in (
        ("flatten", flatten.get("layer_index")),
        *(("consumer", c.get("layer_index")) for c in flatten_consumers(flatten)),
        ("failed", error.get("layer_index")),
    ):
        if index in positions:
            lines.append(f"  class {row_id(positions[index])} {cls}")
    return "\n".join(lines) + "\n"


def mermaid_block(report: Mapping[str, Any], budget: int = MERMAID_BUDGET) -> str:
    """A fenced block for Markdown."""
    return "```mermaid\n" + render_mermaid(report, budget) + "```\n"
