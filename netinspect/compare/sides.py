"""The two sides of ``diff``: each one's comparable view, inspected on the same input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def comparable_sides(
    sources: Sequence[str],
    inputs: Sequence[str],
    allow_import: tuple[str, ...] = (),
    *,
    fast_imports: bool = False,
    on_note: Callable[[str], None] = lambda note: None,
) -> list[dict[str, Any]]:
    """Each side's comparable view: a saved report or baseline is read, a target is inspected.
    A target with no default input (``file.py:Net``) and no ``inputs`` runs on the other side's
    input, so both are inspected on the same tensor. A side whose forward fails is still
    compared (its partial report), and ``on_note`` hears about it."""
    from netinspect.compare.baseline import specs_from_input_records
    from netinspect.compare.check import inspect_for_baseline
    from netinspect.compare.diff import comparable_view
    from netinspect.compare.reports import read_comparable_json
    from netinspect.sources.resolve import resolve_target

    views: list[dict[str, Any] | None] = [None] * len(sources)
    borrowing: list[int] = []

    def run(index: int, specs: tuple[str, ...] | None) -> None:
        report = inspect_for_baseline(
            sources[index], specs, allow_import, fast_imports=fast_imports
        )
        if report.error is not None:
            on_note(f"{sources[index]}: forward pass failed: {report.error.message}")
        views[index] = comparable_view(report)

    for index, source in enumerate(sources):
        if source.lower().endswith(".json"):
            views[index] = read_comparable_json(source)
        elif inputs or resolve_target(source, allow_import=allow_import).default_inputs:
            run(index, tuple(inputs) or None)
        else:
            borrowing.append(index)
    for index in borrowing:
        other = next((v for v in views if v is not None), None)
        # With nothing to borrow, the inspector's own "no default input" error is the message.
        run(index, specs_from_input_records(other["inputs"]) if other else None)
    return [v for v in views if v is not None]
