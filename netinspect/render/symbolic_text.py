"""The symbolic parts of the text renderers (``--input Bx3xHxW``): shapes as formulas, the
flatten point's formula, and the lines on hints, valid sizes and conditions."""

from __future__ import annotations

from collections.abc import Sequence

from netinspect.records import (
    FlattenPoint,
    InspectionReport,
    LayerRecord,
    SymbolicReport,
    SymShape,
)
from netinspect.symexpr import names_in, readable, readable_shape


def sym_shape_parts(
    shapes: Sequence[SymShape], limit: int = 3, sep: str = ", ", *, mark: str = ""
) -> list[str]:
    """Shapes as formulas (``[B,512,⌊H/32⌋,⌊W/32⌋]``), one part per leaf like
    ``shape_parts``."""
    if not shapes:
        return ["-"]
    parts = [mark + readable_shape(s, sep) for s in shapes[:limit]]
    if len(shapes) > limit:
        parts.append(f"+{len(shapes) - limit} more")
    return parts


def fmt_sym_shapes(shapes: Sequence[SymShape], limit: int = 3, sep: str = ", ") -> str:
    """Shapes as formulas: ``[B,512,⌊H/32⌋,⌊W/32⌋]``."""
    return " ".join(sym_shape_parts(shapes, limit, sep))


def symbolic_arrow(point: FlattenPoint, symbolic: SymbolicReport, layer: LayerRecord) -> str:
    """``[B,512,⌊H/32⌋,⌊W/32⌋] -> [B,512·⌊H/32⌋·⌊W/32⌋] = 512×⌊H/32⌋×⌊W/32⌋ (25,088 at
    H=224, W=224)``, or ``= 25,088 for every H, W ≥ 32`` when no name changes the count."""
    formula = symbolic.flatten
    assert formula is not None and layer.input_shapes_symbolic
    src = readable_shape(layer.input_shapes_symbolic[0])
    out = readable_shape((layer.input_shapes_symbolic[0][0], formula.features))
    arrow = f"{src} -> {out} = " + "×".join(readable(d) for d in formula.flattened_dims)
    if formula.depends_on:
        at = ", ".join(
            f"{s.name}={s.hint}" for s in symbolic.symbols if s.name in formula.depends_on
        )
        return arrow + f" ({point.output_shape[1]:,} at {at})"
    return arrow + f" = {point.output_shape[1]:,}{_for_every(symbolic, layer)}"


def others_at_hints(symbolic: SymbolicReport, names: Sequence[str]) -> str:
    if len(names) < 2:
        return ""
    return ", each with the other at its hint"


def _for_every(symbolic: SymbolicReport, layer: LayerRecord) -> str:
    """`` for every H, W ≥ 32``: the names the count no longer depends on, with their sizes."""
    shown: set[str] = set()
    for shape in layer.input_shapes_symbolic or ():
        for d in shape:
            shown.update(names_in(d))
    groups: dict[str, list[str]] = {}
    for s in symbolic.symbols:
        if s.name not in shown and not s.specialised:
            groups.setdefault(s.valid_text, []).append(s.name)
    if not groups:
        return ""
    return " for every " + "; ".join(f"{', '.join(n)} {text}" for text, n in groups.items())


def symbolic_lines(report: InspectionReport) -> list[tuple[str, str]]:
    """The named dims: their hints, the sizes that keep the rule, the conditions that bind."""
    sym = report.symbolic
    if sym is None:
        return []
    sources: dict[str, list[str]] = {}
    for s in sym.symbols:
        sources.setdefault(s.hint_source, []).append(f"{s.name}={s.hint}")
    hints = "; ".join(f"{', '.join(v)} ({k})" if k else ", ".join(v) for k, v in sources.items())
    rows = [("Hints", hints)]
    groups: dict[str, list[str]] = {}
    for s in sym.symbols:
        groups.setdefault(s.valid_text, []).append(s.name)
    valid = "; ".join(f"{', '.join(n)} {text}" for text, n in groups.items())
    scope = "each with the others at their hints, on the hints' branch"
    if sym.error:
        scope += ", from the conditions met before the pass stopped"
    rows.append(("Valid sizes", f"{valid} ({scope})"))
    by_index = {layer.index: layer for layer in report.layers}
    binding = [c for c in sym.conditions if c.is_binding]
    for i, c in enumerate(binding):
        where = []
        layer = by_index.get(c.layer_index) if c.layer_index is not None else None
        if layer is not None:
            where.append(f"{layer.name or '(root)'} ({layer.type})")
        if c.source:
            where.append(c.source)
        text = readable(c.expression) + (f"  at {', '.join(where)}" if where else "")
        rows.append(("Conditions" if i == 0 else "", text))
    implied = len(sym.conditions) - len(binding)
    if implied:
        rows.append(("Conditions" if not binding else "", f"(+{implied} implied by these)"))
    for s in sym.symbols:
        if s.specialised:
            rows.append(("Specialised", f"{s.name}: {s.specialised}"))
    if sym.error:
        rows.append(("Symbolic pass", f"stopped: {sym.error}"))
    rows += [("Note", note) for note in sym.notes]
    return rows
