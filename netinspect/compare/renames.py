"""Renames guessed from facts: a layer whose name alone changed (``head`` -> ``classifier``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netinspect.compare.align import opcodes

if TYPE_CHECKING:
    from netinspect.compare.diff import LayerDiff, LayerView


def _facts(view: LayerView) -> tuple[Any, ...]:
    return (
        view.call_index,
        view.kind,
        view.type,
        view.input_shapes,
        view.output_shapes,
        view.params,
        view.trainable_params,
    )


def pair_renames(rows: list[LayerDiff]) -> list[LayerDiff]:
    """Removed and added rows of one stretch whose facts all agree, in the same order, are
    one layer under a new name (``head`` -> ``classifier``, children included): each pair
    becomes one "renamed" row, marked as a guess, where the added row stood."""
    removed = [r for r in rows if r.status == "removed"]
    added = [r for r in rows if r.status == "added"]
    if not removed or not added:
        return rows
    pairs: dict[int, LayerDiff] = {}  # id(added row) -> its removed partner
    for tag, i1, i2, j1, j2 in opcodes(
        [_facts(r.old) for r in removed if r.old is not None],
        [_facts(r.new) for r in added if r.new is not None],
    ):
        if tag == "equal":
            pairs.update((id(b), a) for a, b in zip(removed[i1:i2], added[j1:j2], strict=True))
    if not pairs:
        return rows
    paired_old = {id(a) for a in pairs.values()}
    out = []
    for row in rows:
        if id(row) in paired_old:
            continue
        partner = pairs.get(id(row))
        if partner is None:
            out.append(row)
        else:
            out.append(replace(row, status="renamed", old=partner.old, is_guess=True))
    return out
