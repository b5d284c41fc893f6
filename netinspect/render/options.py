"""Render options shared by every format: the formats, the optional columns, the width."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    mermaid = "mermaid"


# Formats that draw the graph: they fold repeated blocks themselves, so rows are not collapsed
# before them by default (the page unfolds a repeat on click).
PICTURE_FORMATS = (OutputFormat.html, OutputFormat.mermaid)


class Column(str, Enum):
    """Optional per-layer columns (``--columns``); '#', Layer and Type are always shown."""

    shapes = "shapes"
    params = "params"
    macs = "macs"
    flops = "flops"
    memory = "memory"
    # Each module's peak during the ``--train`` step ("-" without one).
    train = "train"


DEFAULT_COLUMNS = (Column.shapes, Column.params)


def parse_columns(text: str) -> tuple[Column, ...]:
    """``"shapes,params,flops"`` -> columns in that order. Raises ValueError on unknown ones."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    known = {c.value: c for c in Column}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown) or '(none given)'}; choose from "
            + ", ".join(known)
        )
    return tuple(dict.fromkeys(known[n] for n in names))


@dataclass(frozen=True, slots=True)
class RenderOptions:
    width: int = 100
    color: bool = False
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    # markdown: add the Mermaid data-flow graph (``--graph``).
    graph: bool = False
