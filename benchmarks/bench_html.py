"""How the HTML page behaves in a real browser (headless Debian chromium, software rendering).

    python -m benchmarks.bench_html          # vgg16, resnet50, the 2,000-row LLM, decoder_59b

For each page: its size, the time from navigation until the page is drawn, the nodes the
graph opens with and how many are in the DOM, the time to unfold every block (layout and
redraw), and the mean frame time while zooming (a requestAnimationFrame loop that changes the
zoom every frame), folded and fully unfolded. The same loop on an empty page is the floor: the
browser's own frame cost on this machine. Everything is measured in one run, so compare ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.markdown_out import add_markdown_option, tee_markdown

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent
TARGETS = (
    ("vgg16", "vgg16", None),
    ("resnet50", "resnet50", None),
    ("llm (tests/models/llm.py)", f"{ROOT / 'tests/models/llm.py'}:TinyLlama", ["1x16:int64"]),
    ("decoder_59b", str(ROOT / "configs/decoder_59b.yaml"), None),
)
FRAMES = 40
ZOOM_LOOP = """(frames) => new Promise(done => {
  const g = window.netinspect ? window.netinspect.graph : null, start = performance.now();
  let f = 0;
  function step() {
    f++;
    if (g) g.zoom(f % 2 ? 1.05 : 1 / 1.05);
    if (f < frames) requestAnimationFrame(step); else done((performance.now() - start) / frames);
  }
  requestAnimationFrame(step);
})"""


def measure(browser: Any, path: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    started = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready]")
    out: dict[str, Any] = {"load_s": time.perf_counter() - started}
    page.evaluate("document.getElementById('graph').scrollIntoView()")
    graph = "window.netinspect.graph"
    out["nodes"] = page.evaluate(f"{graph}.visibleIds().length")
    out["frame_folded_ms"] = page.evaluate(ZOOM_LOOP, FRAMES)
    out["unfold_all_ms"] = page.evaluate(
        f"() => {{ const t = performance.now(); {graph}.setAll(false); return performance.now() - t; }}"
    )
    out["nodes_unfolded"] = page.evaluate(f"{graph}.visibleIds().length")
    out["dom_nodes_unfolded"] = page.evaluate("document.querySelectorAll('g.node').length")
    out["frame_unfolded_ms"] = page.evaluate(ZOOM_LOOP, FRAMES)
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        measure_pages()


def measure_pages() -> None:
    from playwright.sync_api import sync_playwright

    from netinspect import inspect_model
    from netinspect.errors import ForwardFailed
    from netinspect.render.html import render_html

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        blank = Path(tmp) / "blank.html"
        blank.write_text('<!DOCTYPE html><body data-ready="1"></body>', encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(blank.as_uri())
        floor = page.evaluate(ZOOM_LOOP, FRAMES)
        page.close()
        print(f"empty page: {floor:.1f} ms per frame (the floor)")
        print(
            "| model | rows | page KiB | load s | nodes shown | unfold all ms | nodes unfolded "
            "| in DOM | frame ms folded | frame ms unfolded |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, target, inputs in TARGETS:
            try:
                report = inspect_model(target, inputs)
            except ForwardFailed as exc:
                report = exc.report
            path = Path(tmp) / "page.html"
            path.write_text(render_html(report.to_dict()), encoding="utf-8")
            m = measure(browser, path)
            print(
                f"| {label} | {len(report.layers):,} | {path.stat().st_size / 1024:,.0f} "
                f"| {m['load_s']:.2f} | {m['nodes']} | {m['unfold_all_ms']:.0f} "
                f"| {m['nodes_unfolded']:,} | {m['dom_nodes_unfolded']} "
                f"| {m['frame_folded_ms']:.1f} | {m['frame_unfolded_ms']:.1f} |",
                flush=True,
            )
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
