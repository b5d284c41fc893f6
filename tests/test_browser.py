"""The HTML pages in a real browser: Debian's headless chromium driven by Playwright.

Each page is opened from disk with every request routed: anything but the page's own file://
URL fails the test, and so does any console error. Then, as a user would: the flatten point is
shown and highlighted, a folded block unfolds into its children, the search finds a layer, and
a screenshot has something on it. ``--update-screenshots`` (or NETINSPECT_UPDATE_SCREENSHOTS=1)
rewrites docs/vgg16.png, the README's picture, from the vgg16 test.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("NETINSPECT_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(
        f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
)

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ORANGE, RED = "rgb(217, 119, 6)", "rgb(207, 34, 46)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Opened:
    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.requests == [], self.requests


def open_page(browser: Any, path: Path, width: int = 1280, height: int = 900) -> Opened:
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = Opened(context.new_page())
    url = path.as_uri()

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            opened.requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    opened.page.on(
        "request", lambda req: opened.requests.append(req.url) if req.url != url else None
    )
    opened.page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    opened.page.on("pageerror", lambda e: opened.errors.append(str(e)))
    opened.page.goto(url)
    opened.page.wait_for_selector("body[data-ready]", timeout=30_000)
    return opened


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def report_page(tmp: Path, name: str, target: str, inputs: list[str] | None = None) -> Path:
    from netinspect import inspect_model
    from netinspect.errors import ForwardFailed
    from netinspect.render.html import render_html

    try:
        report = inspect_model(target, inputs)
    except ForwardFailed as exc:
        report = exc.report
    return write(tmp / f"{name}.html", render_html(report.to_dict()))


def position(page: Any, name: str) -> int:
    rows = page.evaluate("JSON.parse(document.getElementById('ni-data').textContent).report.layers")
    return next(i for i, r in enumerate(rows) if r["name"] == name)


def stroke(page: Any, selector: str) -> str:
    value: str = page.eval_on_selector(selector + " rect.body", "el => getComputedStyle(el).stroke")
    return value


def assert_not_blank(png: bytes) -> None:
    try:
        from PIL import Image, ImageStat
    except ImportError:  # no PIL: a blank page compresses to a few KB
        assert len(png) > 30_000
        return
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, f"{len(colours)} colours"
    assert max(ImageStat.Stat(image).stddev) > 20


def search(page: Any, text: str) -> None:
    page.fill("#search", text)
    page.press("#search", "Enter")


def scroll_to_node(page: Any, view_id: str, steps: int = 60) -> Any:
    """Wheel down the graph, as a reader would, until the node is drawn."""
    return scroll_to(page, f'g.node[data-id="{view_id}"]', steps)


def scroll_to(page: Any, selector: str, steps: int = 60) -> Any:
    """From the top of the graph, wheel down until what ``selector`` names is drawn inside the
    graph's frame (below its toolbar). It is in the DOM a screen ahead: being there is not
    enough."""
    page.evaluate("document.getElementById('graph').scrollIntoView()")
    page.locator(".gtools button", has_text="Top").click()
    frame = page.locator(".graphwrap > svg").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] / 3, frame["y"] + frame["height"] / 2)
    target = page.locator(selector)
    top, bottom = frame["y"] + 40, frame["y"] + frame["height"]
    for _ in range(steps):
        where = target.bounding_box() if target.count() else None
        if where and top <= where["y"] and where["y"] + where["height"] <= bottom:
            return target
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(30)
    raise AssertionError(f"{selector} never came into view")


def test_vgg16_page(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    opened = open_page(browser, report_page(tmp_path, "vgg16", "vgg16"), width=1100)
    page = opened.page
    flatten, consumer = position(page, "flatten"), position(page, "classifier.0")
    page.click("#show-flatten")
    node = page.locator("g.node.flatten")
    assert node.count() == 1 and node.get_attribute("data-id") == f"r{flatten}"
    assert stroke(page, "g.node.flatten") == ORANGE
    assert "512×7×7 = 25,088" in node.inner_html()
    assert page.locator(f'g.node.consumer[data-id="r{consumer}"]').count() == 1
    assert page.locator("path.edge.hot").count() == 1  # flatten -> classifier.0
    assert "feeds classifier.0 Linear(in_features=25,088): sizes agree" in page.inner_text(
        "#flatten"
    )
    update = request.config.getoption("--update-screenshots") or os.environ.get(
        "NETINSPECT_UPDATE_SCREENSHOTS"
    )
    if update:
        save_readme_picture(page)
    # A container folds from its title and unfolds on click.
    page.click('text.bhead[data-fold="r35"]')
    assert page.locator('g.node.folded[data-id="r35"]').count() == 1
    assert page.locator(f'g.node[data-id="r{consumer}"]').count() == 0
    page.click('g.node[data-id="r35"]')
    assert page.locator(f'g.node[data-id="r{consumer}"]').count() == 1
    search(page, "classifier.6")
    last = position(page, "classifier.6")
    assert page.locator("g.node.selected").get_attribute("data-id") == f"r{last}"
    assert page.inner_text("#search-count") == "1 of 1"
    rows = page.locator("table.rows tbody tr[data-pos]")
    assert rows.count() == 1 and "classifier.6" in rows.inner_text()
    assert_not_blank(page.screenshot(full_page=True))
    opened.check_clean()


def save_readme_picture(page: Any) -> None:
    """docs/vgg16.png: the graph around the flatten point with its details, as a palette PNG
    to stay small."""
    png = page.locator("#graph .graphwrap").screenshot()
    out = ROOT / "docs" / "vgg16.png"
    out.parent.mkdir(exist_ok=True)
    try:
        from PIL import Image
    except ImportError:
        out.write_bytes(png)
        return
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    image.save(out, optimize=True)


def test_resnet50_repeat_unfolds(browser: Any, tmp_path: Path) -> None:
    opened = open_page(browser, report_page(tmp_path, "resnet50", "resnet50"))
    page = opened.page
    first, second = position(page, "layer1.1"), position(page, "layer1.2")
    group = scroll_to_node(page, "g0")
    assert "layer1.1–2 × 2" in group.inner_html()
    assert page.locator(f'g.node[data-id="r{first}"]').count() == 0
    group.click()
    assert page.locator('g.node[data-id="g0"]').count() == 0
    assert page.locator(f'g.node[data-id="r{first}"]').count() == 1
    assert page.locator(f'g.node[data-id="r{second}"]').count() == 1
    assert page.locator('text.bhead[data-fold="g0"]').count() == 1  # now a box around them
    page.click("#show-flatten")
    assert stroke(page, "g.node.flatten") == ORANGE
    search(page, "layer3.4.conv2")
    target = position(page, "layer3.4.conv2")
    assert page.locator("g.node.selected").get_attribute("data-id") == f"r{target}"
    assert_not_blank(page.screenshot())
    opened.check_clean()


def test_failing_model_page(browser: Any, tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "resnet18_cifar_broken.yaml")
    opened = open_page(browser, report_page(tmp_path, "broken", config))
    page = opened.page
    assert "cannot be added to its input" in page.inner_text("#failure")
    assert page.locator("#show-flatten").count() == 0  # it failed before any flatten
    page.click("#show-failure")
    failed = page.locator("g.node.failed")
    assert failed.get_attribute("data-id") == f"r{position(page, 'layer2.0.add')}"
    assert stroke(page, "g.node.failed") == RED
    assert "Hint: add a projection shortcut" in failed.inner_html()
    assert page.locator("table.rows tr.failed").count() == 1
    # Fold layer1 from its box title, then unfold it: its children come back.
    layer1, child = position(page, "layer1"), position(page, "layer1.1")
    scroll_to(page, f'text.bhead[data-fold="r{layer1}"]').click()
    assert page.locator(f'g.node[data-id="r{child}"]').count() == 0
    page.click(f'g.node.folded[data-id="r{layer1}"]')
    assert page.locator(f'g.node[data-id="r{child}"]').count() == 1
    search(page, "layer1.2.shortcut")
    assert page.locator("g.node.selected").get_attribute("data-id") == (
        f"r{position(page, 'layer1.2.shortcut')}"
    )
    assert_not_blank(page.screenshot())
    opened.check_clean()


def test_flatten_feeding_the_failing_layer(browser: Any, tmp_path: Path) -> None:
    from tests.conftest import model_target

    path = report_page(tmp_path, "mismatch", model_target("Broken"), ["1x3x12x12"])
    opened = open_page(browser, path)
    page = opened.page
    page.click("#show-flatten")
    assert stroke(page, "g.node.flatten") == ORANGE
    assert stroke(page, "g.node.failed") == RED  # the consumer, fc, is where it broke
    assert "flatten produced 8×10×10 = 800" in page.locator("g.node.failed").inner_html()
    opened.check_clean()


def test_diff_page(browser: Any, tmp_path: Path) -> None:
    from netinspect import compare_reports, inspect_model
    from netinspect.render.diff_html import render_diff_html

    keypoints = str(ROOT / "configs" / "vgg16_keypoints.yaml")
    diff = compare_reports(
        inspect_model("vgg16"), inspect_model(keypoints), old_label="vgg16", new_label=keypoints
    )
    opened = open_page(browser, write(tmp_path / "diff.html", render_diff_html(diff)))
    page = opened.page
    flats = page.locator("span.tag.flat")
    assert flats.count() == 2  # old: flatten; new: avgpool.2
    assert "flatten()" in page.locator("td.old", has=page.locator("span.tag.flat")).inner_text()
    assert "avgpool.2" in page.locator("td.new", has=page.locator("span.tag.flat")).inner_text()
    assert page.locator("tr.added").count() == 3
    assert page.locator("tr.removed").count() == 2
    assert page.locator("tr.changed td.side b").count() > 0  # what changed is bold
    features = page.locator('tr[data-fold="folded"]', has_text="features")
    assert features.count() == 1  # unchanged: folded
    assert page.locator("tr", has_text="features.0").count() == 0
    features.click()
    assert page.locator("tr", has_text="features.0").count() == 1
    search(page, "classifier.6")
    assert page.inner_text("#search-count") == "1 of 1"
    assert page.locator("tr.hit").count() == 1
    assert_not_blank(page.screenshot())
    opened.check_clean()


@pytest.mark.slow
def test_two_thousand_row_llm(browser: Any, tmp_path: Path) -> None:
    from tests.conftest import MODELS

    path = report_page(tmp_path, "llm", f"{MODELS / 'llm.py'}:TinyLlama", ["1x16:int64"])
    opened = open_page(browser, path)
    page = opened.page
    assert int(page.inner_text("#table h2").split("(")[1].rstrip(")")) > 1900
    graph = "window.netinspect.graph"
    assert page.evaluate(f"{graph}.visibleIds().length") < 20  # collapsed by default
    assert "layers.0–35 × 36" in page.inner_html("#graph")
    page.click("text=Unfold all")
    assert page.evaluate(f"{graph}.visibleIds().length") > 1700
    # Only what is on screen is in the DOM, so panning stays cheap.
    assert page.locator("g.node").count() < 120
    scroll_to_node(page, f"r{position(page, 'layers.3.mlp.down_proj')}", steps=200)
    assert page.locator("g.node").count() < 120
    search(page, "layers.35.mlp.down_proj")
    target = position(page, "layers.35.mlp.down_proj")
    assert page.locator("g.node.selected").get_attribute("data-id") == f"r{target}"
    opened.check_clean()


@pytest.mark.slow
def test_59b_decoder_config(browser: Any, tmp_path: Path) -> None:
    opened = open_page(
        browser, report_page(tmp_path, "decoder", str(ROOT / "configs" / "decoder_59b.yaml"))
    )
    page = opened.page
    assert re.search(r"Total params\s+59,588,296,704", page.inner_text("#summary"))
    group = page.locator('g.node[data-id="g0"]')
    assert "blocks.layers.0–79 × 80" in group.inner_html()
    group.click()
    assert page.locator('text.bhead[data-fold="g0"]').count() == 1
    assert page.evaluate("window.netinspect.graph.visibleIds().length") == 80 + 5
    opened.check_clean()
