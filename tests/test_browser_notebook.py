"""The notebook HTML view in a real browser, in a light and a dark notebook theme.

The fragment is put in a page the way Jupyter puts an output in its cell: on the theme's
background, with the theme's text colour, scripts off. The text of the flatten row and of the
sticky header must keep a readable contrast (WCAG's 4.5:1) on both; nothing is requested.
``NETINSPECT_UPDATE_SCREENSHOTS=1`` (or ``--update-screenshots``) rewrites the pictures in
docs/ (docs/notebook-light.png, docs/notebook-dark.png).
"""

from __future__ import annotations

import io
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

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# (name, background, text colour): JupyterLab's light theme and VS Code's dark one.
THEMES = (("light", "#ffffff", "#1f2328"), ("dark", "#1e1e1e", "#d4d4d4"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def view() -> str:
    import torch
    import torchvision

    import netinspect

    with torch.device("meta"):
        model = torchvision.models.resnet18(weights=None)
    return netinspect.inspect_model(model, (1, 3, 224, 224))._repr_html_()  # type: ignore[no-any-return]


def _rgba(text: str) -> tuple[float, float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", text)]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def _over(top: str, below: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b, a = _rgba(top)
    return (r * a + below[0] * (1 - a), g * a + below[1] * (1 - a), b * a + below[2] * (1 - a))


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(colour: str) -> tuple[float, float, float]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


@pytest.mark.parametrize(("theme", "background", "text"), THEMES)
def test_notebook_view_reads_in_light_and_dark(
    browser: Any,
    view: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    theme: str,
    background: str,
    text: str,
) -> None:
    page_file = tmp_path / f"{theme}.html"
    page_file.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:16px;'
        f'background:{background};color:{text}"><div class="output">{view}</div></body></html>',
        encoding="utf-8",
    )
    context = browser.new_context(
        viewport={"width": 1100, "height": 900},
        color_scheme=theme,
        java_script_enabled=False,  # an untrusted notebook runs no script; the view needs none
    )
    requests: list[str] = []
    url = page_file.as_uri()
    context.route(
        "**/*",
        lambda r: (
            r.continue_() if r.request.url == url else (requests.append(r.request.url), r.abort())
        ),
    )
    page = context.new_page()
    page.goto(url)
    base = _hex(background)
    flat = page.locator("tr", has_text="◀ flatten")
    assert flat.count() == 1
    row_bg = flat.evaluate("el => getComputedStyle(el).backgroundColor")
    row_fg = flat.locator("td").nth(1).evaluate("el => getComputedStyle(el).color")
    assert _rgba(row_bg)[3] > 0, "the flatten row is not highlighted"
    assert _contrast(_over(row_fg, base), _over(row_bg, base)) >= 4.5
    head = page.locator("th").first
    head_bg = head.evaluate("el => getComputedStyle(el).backgroundColor")
    head_fg = head.evaluate("el => getComputedStyle(el).color")
    assert _contrast(_over(head_fg, base), _over(head_bg, base)) >= 4.5
    # The rows scroll inside the view, under a header that stays put.
    scroller = page.locator("div", has=page.locator("table thead")).last
    scroller.evaluate("el => { el.scrollTop = 400; }")
    assert abs(head.bounding_box()["y"] - scroller.bounding_box()["y"]) < 2
    # The picture: the rows scrolled to the flatten point, under the header.
    flat.scroll_into_view_if_needed()
    png = page.screenshot()
    _assert_not_blank(png)
    update = request.config.getoption("--update-screenshots", default=None) or os.environ.get(
        "NETINSPECT_UPDATE_SCREENSHOTS"
    )
    if update:
        (ROOT / "docs" / f"notebook-{theme}.png").write_bytes(_small_png(png))
    assert requests == []
    context.close()


def _assert_not_blank(png: bytes) -> None:
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert max(ImageStat.Stat(image).stddev) > 10
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 50


def _small_png(png: bytes) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
