"""``netinspect diff`` with a checkpoint: one row per tensor that differs, the counts, as a
table or JSON (pure functions, no torch)."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from typing import Any

from rich.table import Table
from rich.text import Text

from netinspect.checkpoint_records import (
    DTYPE_CHANGED,
    ONLY_IN_A,
    ONLY_IN_B,
    SAME,
    SHAPE_CHANGED,
)
from netinspect.checkpoint_serialize import change_to_dict
from netinspect.compare.checkpoints import TensorDiff
from netinspect.render.options import RenderOptions
from netinspect.render.safe import printable, printable_json
from netinspect.render.table import make_console
from netinspect.render.text import fmt_shape

STATUSES = (SAME, SHAPE_CHANGED, DTYPE_CHANGED, ONLY_IN_A, ONLY_IN_B)


def tensor_diff_counts(diff: TensorDiff) -> dict[str, int]:
    counts = Counter(c.status for c in diff.changes)
    return {s: counts.get(s, 0) for s in STATUSES}


def _summary(diff: TensorDiff) -> str:
    counts = tensor_diff_counts(diff)
    rest = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != SAME)
    return f"{counts[SAME]} of {len(diff.changes)} tensors the same" + (f"; {rest}" if rest else "")


def render_tensor_diff_table(diff: TensorDiff, options: RenderOptions) -> str:
    buffer = StringIO()
    console = make_console(buffer, options)
    console.print(Text(printable(f"A: {diff.a}\nB: {diff.b}")))
    differing = [c for c in diff.changes if c.status != SAME]
    if differing:
        table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
        for header in ("Tensor", "A", "B", "Status"):
            table.add_column(header, no_wrap=header != "Tensor", overflow="fold")
        for c in differing:
            a = "-" if c.shape_a is None else f"{fmt_shape(c.shape_a)} {c.dtype_a}"
            b = "-" if c.shape_b is None else f"{fmt_shape(c.shape_b)} {c.dtype_b}"
            table.add_row(Text(printable(c.key, one_line=True)), a, b, c.status)
        console.print(table)
    for note in diff.notes:
        console.print(Text(printable(f"Note: {note}", one_line=True)))
    console.print(Text(_summary(diff)))
    return buffer.getvalue()


def tensor_diff_to_dict(diff: TensorDiff) -> dict[str, Any]:
    return {
        "kind": "checkpoint diff",
        "a": diff.a,
        "b": diff.b,
        "same": diff.is_same,
        "counts": tensor_diff_counts(diff),
        "notes": list(diff.notes),
        "changes": [change_to_dict(c) for c in diff.changes],
    }


def render_tensor_diff_json(diff: TensorDiff) -> str:
    return printable_json(
        json.dumps(tensor_diff_to_dict(diff), indent=2, ensure_ascii=False) + "\n"
    )
