"""``--format html``: one self-contained page (inline CSS and JS, no network) for a report.

The page is drawn in the browser from data this module embeds: the report dict itself (JSON
stays the source; a saved report renders the same page) plus what the picture needs, computed
here so that the HTML and Mermaid formats agree (``netinspect.render.graph``): the view tree
with its repeat groups, the edges, the fold state it opens with, subtree sums per block, and
the summary texts the other renderers print (``netinspect.render.text``).

The script lays the graph out itself rather than with a general layout library: rows come in
pre-order *and* execution order, so every container is a contiguous run of rows and every
producer comes before its consumers. A column, indented by depth, with a box around each
unfolded container and side arcs for skip connections needs no crossing minimisation, stays
stable when a block is unfolded, and is linear in the number of visible nodes (dagre took
seconds for a few hundred nodes in a compound graph). Only what is on screen is in the DOM.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from netinspect.render.graph import Graph, build_graph
from netinspect.render.graph_fold import default_folded, node_title, output_source

# Nodes the graph opens with before containers stay folded: about a screenful, so a tall model
# opens folded to its top-level blocks (one more level when it fits), readable without zoom.
HTML_BUDGET = 24

_SCRIPTS = {
    "report": ("common.js", "graph.js", "table.js", "report.js"),
    "diff": ("common.js", "diff.js"),
}


def asset_text(name: str) -> str:
    return resources.files("netinspect.render").joinpath("assets", name).read_text("utf-8")


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no ``</script>``, no HTML comment openers."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def page(title: str, kind: str, data: Mapping[str, Any]) -> str:
    """The whole document. The Content-Security-Policy forbids every fetch: nothing leaves
    the page, and it works from disk."""
    scripts = "\n".join(asset_text(name) for name in _SCRIPTS[kind])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{html.escape(title)} · netinspect</title>\n"
        f"<style>\n{asset_text('page.css')}</style>\n"
        "</head>\n<body>\n"
        f'<div id="app" data-kind="{kind}"><noscript>This report needs JavaScript.</noscript></div>\n'
        f'<script type="application/json" id="ni-data">{_script_json(data)}</script>\n'
        f"<script>\n{scripts}</script>\n"
        "</body>\n</html>\n"
    )


def _subtree_sums(graph: Graph) -> list[list[int]]:
    """Params, FLOPs and activation bytes of each row's whole subtree (rows hold only their
    own, so a block's total is the sum over its rows)."""
    sums = [
        [
            int(r.get("params", 0)),
            int(r.get("flops", 0)),
            int(r.get("activation_bytes", 0)),
        ]
        for r in graph.rows
    ]
    for i in range(len(graph.rows) - 1, -1, -1):
        p = graph.parent[i]
        if p >= 0:
            for k in range(3):
                sums[p][k] += sums[i][k]
    return sums


def graph_payload(graph: Graph, folded: frozenset[str]) -> dict[str, Any]:
    ids = [f"r{i}" for i in range(len(graph.rows))] + [f"g{k}" for k in range(len(graph.groups))]
    return {
        "kids": {k: list(v) for k, v in graph.kids.items() if v},
        "groups": [list(g) for g in graph.groups],
        "edges": [[e.source, e.target, e.label] for e in graph.edges],
        "folded": sorted(folded),
        "canvas": graph.canvas,
        "dataFlow": graph.has_data_flow,
        "titles": {v: node_title(graph, v) for v in ids if v in graph.up or v.startswith("g")},
        "sums": _subtree_sums(graph),
        "outputFrom": output_source(graph),
    }


def _cards(report: Mapping[str, Any]) -> dict[str, Any]:
    from netinspect.deserialize import report_from_dict
    from netinspect.render.flatten_text import flatten_absent_lines
    from netinspect.render.text import failure_lines, flatten_summary, inputs_text, totals_lines
    from netinspect.render.training_chart import training_chart_svg
    from netinspect.render.training_text import training_lines

    record = report_from_dict(dict(report))
    training = report.get("training")
    return {
        "training": training_lines(record.training) if record.training else None,
        "trainingChart": training_chart_svg(training) if training else "",
        "inputs": inputs_text(record),
        "totals": totals_lines(record),
        "flatten": flatten_summary(record.flatten)
        if record.flatten
        else flatten_absent_lines(record),
        "failure": failure_lines(record.error) if record.error else None,
        "notes": list(record.notes),
    }


def render_html(report: Mapping[str, Any]) -> str:
    """The page for a report dict (``report.to_dict()`` or a saved ``--format json``)."""
    graph = build_graph(report)
    model = report.get("model") or {}
    title = f"{model.get('name', 'model')} ({model.get('class', '?')})"
    data = {
        "title": title,
        "report": report,
        "graph": graph_payload(graph, default_folded(graph, HTML_BUDGET)),
        "cards": _cards(report),
    }
    return page(title, "report", data)
