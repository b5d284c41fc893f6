"""The picture formats on hand-built reports (no torch): the graph model, Mermaid, the HTML page.

Expected edges are written out by hand from each report's rows; the browser tests
(``test_browser.py``) check what the page then does with them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from netinspect.render import OutputFormat, RenderOptions, render_report, render_report_dict
from netinspect.render.graph import INPUT, INPUT_ID, Edge, build_graph
from netinspect.render.graph_fold import (
    default_folded,
    node_title,
    visible_count,
    visible_edges,
)
from netinspect.render.html import render_html
from netinspect.render.mermaid import render_mermaid
from tests.records_factory import layer, report_of

SHAPE = (1, 4, 8, 8)


def residual_report(*, data_flow: bool) -> dict[str, Any]:
    """stem conv -> block(conv1, relu, conv2, add(conv2, stem)) -> flatten -> head.

    The add has two producers: conv2 and, through the skip connection, the stem.
    """
    add = layer(6, "block.add", 2, SHAPE, SHAPE, kind="function", type="Tensor.add",
                parent="block")  # fmt: skip
    add = dataclasses.replace(add, input_shapes=(SHAPE, SHAPE, (1,)))
    layers = (
        layer(0, "", 0, (1, 3, 8, 8), (1, 10), type="Net", parent=None),
        layer(1, "stem", 1, (1, 3, 8, 8), SHAPE, type="Conv2d", params=112),
        layer(2, "block", 1, SHAPE, SHAPE, type="Residual"),
        layer(3, "block.conv1", 2, SHAPE, SHAPE, type="Conv2d", params=148, parent="block"),
        layer(4, "block.relu", 2, SHAPE, SHAPE, type="ReLU", parent="block"),
        layer(5, "block.conv2", 2, SHAPE, SHAPE, type="Conv2d", params=148, parent="block"),
        add,
        layer(7, "flatten", 1, SHAPE, (1, 256), kind="function", type="torch.flatten"),
        layer(8, "head", 1, (1, 256), (1, 10), type="Linear", params=2570,
              attributes={"in_features": 256, "out_features": 10}),
    )  # fmt: skip
    data = report_of(layers).to_dict()
    if data_flow:
        # Producers by row index; the add's third input is a constant (draws no edge).
        sources: list[list[Any]] = [["input"], ["input"], [1], [1], [3], [4], [5, 1, "const"],
                                    [6], [7]]  # fmt: skip
        for row, source in zip(data["layers"], sources, strict=True):
            row["inputs_from"] = source
    return data


def test_edges_come_from_inputs_from_when_present() -> None:
    graph = build_graph(residual_report(data_flow=True))
    assert graph.has_data_flow
    assert set(graph.edges) == {
        Edge(INPUT, 1, "[1,3,8,8]"),
        Edge(1, 2, "[1,4,8,8]"),
        Edge(1, 3, "[1,4,8,8]"),
        Edge(3, 4, "[1,4,8,8]"),
        Edge(4, 5, "[1,4,8,8]"),
        Edge(5, 6, "[1,4,8,8]"),
        Edge(1, 6, "[1,4,8,8]"),  # the skip connection: the add's second producer
        Edge(6, 7, "[1,4,8,8]"),
        Edge(7, 8, "[1,256]"),
    }
    # Unfolded, the skip is drawn from the stem straight to the add.
    edges = visible_edges(graph, frozenset())
    assert ("r1", "r6", "[1,4,8,8]") in edges
    assert ("r1", "r2", "[1,4,8,8]") not in edges  # an unfolded box: its children draw it
    # Folded, the block is one node fed by the stem and feeding the flatten.
    folded = visible_edges(graph, frozenset({"r2"}))
    assert folded == [
        (INPUT_ID, "r1", "[1,3,8,8]"),
        ("r1", "r2", "[1,4,8,8]"),
        ("r2", "r7", "[1,4,8,8]"),
        ("r7", "r8", "[1,256]"),
    ]


def test_without_inputs_from_edges_follow_the_rows() -> None:
    graph = build_graph(residual_report(data_flow=False))
    assert not graph.has_data_flow
    # Previous sibling, else the parent's source: the add is fed by conv2 alone, the block's
    # first child by the stem, and the flatten by the block (its last child, the add).
    assert visible_edges(graph, frozenset()) == [
        (INPUT_ID, "r1", "[1,3,8,8]"),
        ("r1", "r3", "[1,4,8,8]"),
        ("r3", "r4", "[1,4,8,8]"),
        ("r4", "r5", "[1,4,8,8]"),
        ("r5", "r6", "[1,4,8,8]"),
        ("r6", "r7", "[1,4,8,8]"),
        ("r7", "r8", "[1,256]"),
    ]


def test_a_producer_hidden_by_depth_folding_is_its_visible_holder() -> None:
    data = residual_report(data_flow=True)
    # As --depth 1 leaves it: the block's children are gone, the add's consumer still names 6.
    data["layers"] = [r for r in data["layers"] if r["depth"] <= 1]
    graph = build_graph(data)
    assert Edge(1, 2, "[1,4,8,8]") in graph.edges  # positions now: block is 2
    assert Edge(2, 3, "[1,4,8,8]") in graph.edges  # flatten (now position 3) fed by the block


def repeated_report(pin_middle: bool = False) -> dict[str, Any]:
    """Three identical blocks (linear + relu) under ``blocks``, then a head."""
    rows = [layer(0, "", 0, (1, 8), (1, 2), type="Net", parent=None),
            layer(1, "blocks", 1, (1, 8), (1, 8), type="Sequential")]  # fmt: skip
    for b in range(3):
        i = len(rows)
        rows += [
            layer(i, f"blocks.{b}", 2, (1, 8), (1, 8), type="Block", parent="blocks"),
            layer(i + 1, f"blocks.{b}.fc", 3, (1, 8), (1, 8), type="Linear", params=72,
                  parent=f"blocks.{b}"),
            layer(i + 2, f"blocks.{b}.act", 3, (1, 8), (1, 8), type="ReLU", parent=f"blocks.{b}"),
        ]  # fmt: skip
    rows.append(layer(len(rows), "head", 1, (1, 8), (1, 2), type="Linear", params=18))
    data = report_of(tuple(rows)).to_dict()
    if pin_middle:
        data["error"] = {"layer_index": 6, "message": "boom"}
    return data


def test_identical_blocks_are_one_group_that_unfolds() -> None:
    graph = build_graph(repeated_report())
    assert graph.groups == ((2, 5, 8),)
    assert graph.kids["r1"] == ("g0",)
    assert node_title(graph, "g0") == "blocks.0–2 × 3"
    folded = default_folded(graph, budget=80)
    assert "g0" in folded and "r1" not in folded  # the repeat stays folded by default
    assert visible_count(graph, folded) == 2  # the group and the head
    assert visible_count(graph, folded - {"g0"}) == 4  # three folded blocks and the head
    assert visible_count(graph, frozenset()) == 7


def test_repeated_op_calls_are_not_a_group() -> None:
    # x.unsqueeze(1) twice: two steps of the data flow (each with its own input), not a block.
    rows = [layer(0, "", 0, (4,), (4, 1, 1), type="Net", parent=None)]
    rows += [layer(i, "unsqueeze", 1, (4,), (4, 1), kind="function", type="Tensor.unsqueeze",
                   call_index=i - 1) for i in (1, 2)]  # fmt: skip
    graph = build_graph(report_of(tuple(rows)).to_dict())
    assert graph.groups == ()
    assert graph.kids[""] == ("r1", "r2")
    assert node_title(graph, "r2") == "unsqueeze() #2"


def test_every_consumer_of_the_flatten_point_is_marked() -> None:
    data = residual_report(data_flow=True)
    # Two heads read the flattened features (the newer "consumers" list).
    head = data["flatten"]["consumer"]
    data["flatten"]["consumers"] = [head, {**head, "layer_index": 7, "name": "flatten"}]
    lines = render_mermaid(data).splitlines()
    assert "  class r8 consumer" in lines and "  class r7 consumer" in lines


def test_a_run_holding_the_failing_row_is_not_grouped() -> None:
    graph = build_graph(repeated_report(pin_middle=True))
    assert graph.groups == ()
    assert "r5" not in default_folded(graph, budget=80)  # the failing block stays open


def test_budget_unfolds_breadth_first() -> None:
    graph = build_graph(repeated_report())
    assert default_folded(graph, budget=1) == frozenset({"r1", "g0", "r2", "r5", "r8"})
    assert "r1" not in default_folded(graph, budget=2)


def test_mermaid_chart() -> None:
    text = render_mermaid(residual_report(data_flow=True))
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '  subgraph r2["block · Residual"]' in lines
    assert '  r1 -->|"[1,4,8,8]"| r6' in lines  # the skip connection
    assert '  r7("flatten()<br/>torch.flatten<br/>flatten: 4×8×8 = 256")' in lines
    assert "  class r7 flatten" in lines and "  class r8 consumer" in lines
    assert '  x_in(["input0 [1,3,8,8]"])' in lines
    assert "  r8 --> x_out" in lines


def test_mermaid_quotes_labels() -> None:
    data = residual_report(data_flow=False)
    data["layers"][8]["name"] = 'he"ad<b>'
    text = render_mermaid(data)
    assert 'r8["he#quot;ad#lt;b#gt;<br/>Linear"]' in text


def test_markdown_embeds_the_chart_on_request() -> None:
    report = report_of(tuple(layer(i, n, d, (1, 4), (1, 4), type=t) for i, n, d, t in
                             ((0, "", 0, "Net"), (1, "a", 1, "ReLU"), (2, "b", 1, "Tanh"))))  # fmt: skip
    plain = render_report(report, OutputFormat.markdown, RenderOptions())
    assert "```mermaid" not in plain
    text = render_report(report, OutputFormat.markdown, RenderOptions(graph=True))
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.startswith("flowchart TD\n")
    assert '  r1 -->|"[1,4]"| r2' in block


def page_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="ni-data">(.*?)</script>', page, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_html_page_carries_the_report_and_its_graph() -> None:
    report = residual_report(data_flow=True)
    page = render_html(report)
    data = page_data(page)
    assert data["report"] == report  # JSON stays the source
    assert [1, 6, "[1,4,8,8]"] in data["graph"]["edges"]
    assert data["graph"]["dataFlow"] is True
    # Params of each row's subtree: the block holds its two convs.
    assert data["graph"]["sums"][2][0] == 148 + 148
    assert data["cards"]["flatten"][1] == "[1, 4, 8, 8] -> [1, 256] = 4×8×8 = 256"


def test_html_page_is_self_contained() -> None:
    page = render_html(residual_report(data_flow=False))
    # The only URL is the SVG namespace, which is a name, not a request.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in page  # the page may fetch nothing
    assert not re.search(r"<(link|img|iframe)\b|src=|@import", page)


def test_html_escapes_what_models_call_themselves() -> None:
    report = residual_report(data_flow=False)
    report["model"]["name"] = "</script><img src=x onerror=alert(1)>"
    page = render_html(report)
    assert page.count("</script>") == page.count("<script")
    assert "<img" not in page
    assert page_data(page)["report"]["model"]["name"] == report["model"]["name"]


def test_render_from_a_dict_matches_render_from_records() -> None:
    report = report_of(tuple(layer(i, n, d, (1, 4), (1, 4)) for i, n, d in
                             ((0, "", 0), (1, "a", 1), (2, "b", 1))))  # fmt: skip
    for fmt in OutputFormat:
        assert render_report_dict(report.to_dict(), fmt, RenderOptions()) == render_report(
            report, fmt, RenderOptions()
        )
