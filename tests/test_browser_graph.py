"""The graph page's first view, overview and colouring, on resnet50 at 1400×1000 in headless
chromium: the picture comes first and reads without zooming, the search box shows its whole
hint, the sticky bar hides what scrolls under it, nodes colour by a measure on request, and the
overview moves the view."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("NETINSPECT_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import netinspect

    path = tmp_path_factory.mktemp("graph") / "resnet50.html"
    netinspect.inspect_model("resnet50").to_html(path)
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        opened = context.new_page()
        opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        opened.on("pageerror", lambda e: errors.append(str(e)))
        opened.goto(path.as_uri())
        opened.wait_for_selector("body[data-ready]", timeout=30_000)
        yield opened
        assert errors == []
        browser.close()


def _scale(page: Any) -> tuple[float, float]:
    transform = page.eval_on_selector("#graph svg g.viewport", "g => g.getAttribute('transform')")
    y, k = re.search(r"translate\([^,]+,([^)]+)\) scale\(([^)]+)\)", transform).groups()  # type: ignore[union-attr]
    return float(y), float(k)


def _nodes_on_screen(page: Any) -> int:
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('#graph g.node')].filter(n => {
                 const r = n.getBoundingClientRect();
                 return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; }).length"""
        )
    )


def test_the_first_view_shows_the_graph_readable(page: Any) -> None:
    top = page.locator(".graphwrap > svg").bounding_box()["y"]
    assert top < 300, "the graph starts below the first screen"
    assert _scale(page)[1] >= 0.6
    # resnet50 opens folded to its stages and their blocks: a dozen nodes on the first screen
    # (was 4), none of the 16 Bottleneck blocks unfolded.
    assert _nodes_on_screen(page) >= 12
    assert page.locator('g.node.folded:has-text("Bottleneck")').count() >= 4
    width = page.locator(".graphwrap > svg").bounding_box()["width"]
    assert width > 0.6 * 1400  # the cards sit beside the graph, not above it


def _node_boxes(page: Any) -> list[dict[str, float]]:
    """The nodes wholly inside the graph's frame and the window, as client rectangles."""
    return list(
        page.evaluate(
            """() => { const s = document.querySelector('.graphwrap > svg').getBoundingClientRect();
                 return [...document.querySelectorAll('#graph g.node')].map(n => {
                   const r = n.getBoundingClientRect();
                   return {id: n.dataset.id, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })
                 .filter(r => r.bottom > r.top && r.top >= s.top && r.left >= s.left && r.right <= s.right
                   && r.bottom <= Math.min(innerHeight, s.bottom)); }"""
        )
    )


def test_the_first_view_uses_the_width(page: Any) -> None:
    # Folded, resnet50 is about twice as tall as the frame: it opens in columns side by side,
    # so the whole of it is on the first screen (input to output) and readable.
    frame = page.locator(".graphwrap > svg").bounding_box()
    nodes = _node_boxes(page)
    used = max(n["right"] for n in nodes) - min(n["left"] for n in nodes)
    assert used >= 0.6 * frame["width"], (used, frame["width"])  # was a quarter of it
    assert len(nodes) >= 16  # was 11
    assert {"x_in", "x_out"} <= {n["id"] for n in nodes}
    assert _scale(page)[1] >= 0.6
    lefts = sorted({round(n["left"]) for n in nodes})
    assert lefts[-1] - lefts[0] > 300  # nodes stand in more than one column
    assert page.evaluate("() => window.netinspect.graph.wrapped()")
    # The neighbour edge at a cut runs from one column's bottom to the next one's top.
    assert page.locator("#graph path.edge[d*='V'][d*='H']").count() >= 1
    # The toggle lays it out in one column and back.
    toggle = page.locator("#graph-layout")
    assert toggle.inner_text() == "One column"
    toggle.click()
    assert toggle.inner_text() == "Columns"
    single = _node_boxes(page)
    assert max(n["left"] for n in single) - min(n["left"] for n in single) < 100
    assert len(single) < len(nodes)
    toggle.click()
    assert toggle.inner_text() == "One column"
    assert len(_node_boxes(page)) == len(nodes)
    page.locator(".gtools button", has_text="Reset").click()
    assert page.evaluate("() => window.netinspect.graph.wrapped()")


def test_the_search_hint_is_whole_and_the_bar_hides_what_scrolls_under(page: Any) -> None:
    fits = page.evaluate(
        """() => { const i = document.getElementById('search'), s = getComputedStyle(i);
                   const c = document.createElement('canvas').getContext('2d');
                   c.font = s.font;
                   const room = i.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
                   return c.measureText(i.placeholder).width <= room; }"""
    )
    assert fits
    alpha = page.eval_on_selector(".bar", "b => getComputedStyle(b).backgroundColor")
    assert alpha.startswith("rgb(") or alpha.endswith(", 1)"), alpha  # opaque


def test_nodes_colour_by_a_measure(page: Any) -> None:
    page.select_option("#colour-by", "1")  # FLOPs
    fills = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#graph g.node')].map(
             n => [n.dataset.id, n.querySelector('rect.body').style.fill]))"""
    )
    sums = page.evaluate(
        "() => JSON.parse(document.getElementById('ni-data').textContent).graph.sums"
    )
    alpha = {k: float(v.rsplit(",", 1)[1].rstrip(")")) for k, v in fills.items() if v}
    assert "x_in" in fills and not fills["x_in"]  # input and output stay as they are
    rows = [k for k in alpha if k.startswith("r")]
    assert len(rows) >= 4
    by_flops = sorted(rows, key=lambda k: sums[int(k[1:])][1])
    # More FLOPs, a deeper tint.
    assert alpha[by_flops[0]] < alpha[by_flops[-1]]
    assert all(alpha[a] <= alpha[b] + 1e-6 for a, b in itertools.pairwise(by_flops))
    assert "FLOPs" in page.inner_text(".legend")
    page.select_option("#colour-by", "-1")
    assert page.eval_on_selector('#graph g.node[data-id="r1"] rect.body', "r => r.style.fill") == ""


def test_the_overview_moves_the_view_and_fit_stays_readable(page: Any) -> None:
    page.locator(".gtools button", has_text="Unfold all").click()
    assert page.locator(".minimap rect.mnode").count() == page.locator("#graph").evaluate(
        "() => window.netinspect.graph.visibleIds().length"
    )
    y0, _ = _scale(page)
    box = page.locator(".minimap svg").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9)
    y1, _ = _scale(page)
    assert y1 < y0 - 300  # moved down the graph
    window = page.locator(".minimap rect.win").bounding_box()
    assert (
        box["y"] - 1 <= window["y"]
        and window["y"] + window["height"] <= box["y"] + box["height"] + 1
    )
    page.locator(".gtools button", has_text="Fit").click()
    assert _scale(page)[1] >= 0.6  # not an unreadable sliver
    assert _nodes_on_screen(page) >= 8


def test_diff_table_headers_stick_below_the_bar(page: Any, tmp_path: Path) -> None:
    """After scrolling, a table's sticky header sits under the search bar's lower edge, not
    hidden behind the bar (nor showing through it)."""
    import torch
    import torchvision

    import netinspect
    from netinspect.render.diff_html import render_diff_html

    with torch.device("meta"):
        old = torchvision.models.resnet18(weights=None)
        new = torchvision.models.resnet34(weights=None)
    diff = netinspect.compare_reports(
        netinspect.inspect_model(old, (1, 3, 64, 64)), netinspect.inspect_model(new, (1, 3, 64, 64))
    )
    path = tmp_path / "diff.html"
    path.write_text(render_diff_html(diff), encoding="utf-8")
    # The module's browser: a second Playwright cannot start while its loop runs.
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    diff_page = context.new_page()
    diff_page.goto(path.as_uri())
    diff_page.wait_for_selector("body[data-ready]", timeout=30_000)
    diff_page.locator(".bar button", has_text="Unfold all").click()
    diff_page.evaluate("window.scrollTo(0, 900)")
    bar = diff_page.locator(".bar").bounding_box()
    head = diff_page.locator("table.diff th").first.bounding_box()
    assert abs(head["y"] - (bar["y"] + bar["height"])) < 2
    assert diff_page.eval_on_selector(".bar", "b => getComputedStyle(b).backgroundColor") in (
        "rgb(255, 255, 255)",
        "rgba(255, 255, 255, 1)",
    )
    context.close()
