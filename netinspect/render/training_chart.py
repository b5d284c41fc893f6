"""The memory-over-the-step chart of ``--train`` as an SVG (the HTML page's training card):
forward, backward and optimizer as bands, the categories stacked, the peak marked."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from netinspect.render.text import fmt_bytes

COLORS = {
    "parameters": "#4c78a8",
    "buffers": "#9ecae9",
    "gradients": "#f58518",
    "optimizer_state": "#e45756",
    "activations": "#54a24b",
    "temporaries": "#b279a2",
    "inputs": "#bab0ac",
}
PHASE_FILL = {"forward": "#f4f8fb", "backward": "#fbf6f0", "optimizer": "#f6f2f8"}
W, H, LEFT, TOP, BOTTOM = 640, 220, 8, 18, 40


def _x(i: int, n: int) -> float:
    return LEFT + (W - 2 * LEFT) * (i / max(1, n - 1))


def training_chart_svg(training: Mapping[str, Any]) -> str:
    """An SVG string from the report dict's ``training`` (its ``series``); "" without one."""
    series = training.get("series") or {}
    cats: Sequence[str] = series.get("categories") or []
    points: Sequence[Sequence[int]] = series.get("bytes") or []
    phases: Sequence[str] = series.get("phases") or []
    if not points or not cats:
        return ""
    n = len(points)
    top = max(sum(p) for p in points) or 1
    plot_h = H - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%">']
    start = 0
    for i in range(1, n + 1):  # phase bands
        if i == n or phases[i] != phases[start]:
            x0, x1 = _x(start, n), _x(i - 1, n)
            fill = PHASE_FILL.get(phases[start], "#fff")
            parts.append(
                f'<rect x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" '
                f'fill="{fill}"/><text x="{x0 + 2:.1f}" y="{TOP + 11}" font-size="10" '
                f'fill="#666">{html.escape(phases[start])}</text>'
            )
            start = i
    below = [0] * n
    for k, cat in enumerate(cats):  # stacked areas, bottom up
        above = [below[i] + points[i][k] for i in range(n)]
        if not any(points[i][k] for i in range(n)):
            below = above
            continue
        upper = " ".join(f"{_x(i, n):.1f},{y(above[i]):.1f}" for i in range(n))
        lower = " ".join(f"{_x(i, n):.1f},{y(below[i]):.1f}" for i in reversed(range(n)))
        color = COLORS.get(cat, "#888")
        parts.append(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.85">'
                     f"<title>{html.escape(cat)}</title></polygon>")  # fmt: skip
        below = above
    peak_i = max(range(n), key=lambda i: sum(points[i]))
    px = _x(peak_i, n)
    label = f"peak {fmt_bytes(int(training.get('peak_bytes', top)))}"
    anchor = "end" if px > W / 2 else "start"
    parts.append(
        f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#d62728" '
        f'stroke-dasharray="3,2"/><text x="{px + (-4 if anchor == "end" else 4):.1f}" '
        f'y="{TOP + 24}" font-size="11" fill="#d62728" text-anchor="{anchor}">'
        f"{html.escape(label)}</text>"
    )
    x = LEFT
    for cat in cats:  # legend
        color = COLORS.get(cat, "#888")
        name = cat.replace("_", " ")
        parts.append(
            f'<rect x="{x}" y="{H - 16}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 13}" y="{H - 7}" font-size="10">{html.escape(name)}</text>'
        )
        x += 18 + 6 * len(name)
    parts.append("</svg>")
    return "".join(parts)
