"""``sizes MODEL --train --gpu NAME``: the largest size that fits, as text and JSON."""

from __future__ import annotations

import json

from netinspect.render.safe import printable
from netinspect.render.text import fmt_bytes
from netinspect.render.training_text import ALLOWANCE_LABELS
from netinspect.serialize import fit_search_to_dict
from netinspect.training_records import FitSearch, GpuFit


def _fit_line(size: str, fit: GpuFit) -> str:
    verdict = "fits" if fit.fits else "does not fit"
    margin = fmt_bytes(abs(fit.margin_bytes)) + (" to spare" if fit.fits else " short")
    return (
        f"  at {size}: peak {fmt_bytes(fit.peak_bytes)}, needs {fmt_bytes(fit.needed_bytes)}"
        f" with the allowances: {verdict}, {margin}"
    )


def render_fit_text(search: FitSearch) -> str:
    name = "batch" if search.dim == "B" else search.dim
    inputs = ", ".join(search.inputs)
    head = (
        f"{printable(search.model)} on {search.gpu} ({fmt_bytes(search.memory_bytes)}), "
        f"{search.optimizer}, {search.dtype}, input {printable(inputs)}"
    )
    lines = [head]
    if search.largest is None:
        lines.append(f"Nothing fits: {name} 1 is already too large.")
    else:
        capped = " (the search's cap: larger may fit, raise --up-to)" if search.capped else ""
        lines.append(f"Largest {name} that fits: {search.largest}{capped}")
    if search.at_largest is not None:
        lines.append(_fit_line(f"{search.dim}={search.largest}", search.at_largest))
    if search.at_next is not None and search.largest is not None:
        lines.append(_fit_line(f"{search.dim}={search.largest + 1}", search.at_next))
    fit = search.at_largest or search.at_next
    if fit is not None:
        allowances = ", ".join(
            f"{ALLOWANCE_LABELS.get(a.name, a.name)} {fmt_bytes(a.bytes)}" for a in fit.allowances
        )
        lines.append(f"Allowances at {search.dim}={search.largest}: {allowances}")
    tried = ", ".join(str(t.size) for t in search.trials)
    lines.append(f"Training steps run: {len(search.trials)} ({search.dim} = {tried})")
    return "\n".join(lines) + "\n"


def render_fit_json(search: FitSearch) -> str:
    return json.dumps(fit_search_to_dict(search), indent=2) + "\n"
