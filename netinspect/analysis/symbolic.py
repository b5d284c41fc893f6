"""From a symbolic pass to report records: formulas per row, conditions, the exact sizes per
named dim along the hint's branch, the flatten point as a formula. sympy, no torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy

from netinspect.analysis.guard_eval import Unsolvable
from netinspect.analysis.guards import solve
from netinspect.capture.exprs import python_text
from netinspect.errors import describe_exception
from netinspect.records import (
    ConditionRecord,
    InspectionReport,
    LayerRecord,
    Progression,
    SymbolicFlatten,
    SymbolicReport,
    SymbolRecord,
    SymShape,
)
from netinspect.specs import InputSpec, tensor_specs
from netinspect.symexpr import describe_set, readable

if TYPE_CHECKING:
    from netinspect.capture.symbolic import SymbolicPass


def symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, integer=True, positive=True)


def parse_dim(text: str, names: Sequence[str]) -> sympy.Expr:
    """A dim expression from a report (``H//32``) back as sympy (``floor(H/32)``)."""
    local = {n: symbol(n) for n in names}
    local.update(max=sympy.Max, min=sympy.Min)
    return sympy.sympify(text, locals=local)


def _atoms(condition: sympy.Basic) -> list[sympy.Basic]:
    if isinstance(condition, sympy.And):
        return [a for arg in condition.args for a in _atoms(arg)]
    return [condition]


@dataclasses.dataclass
class _Atom:
    condition: sympy.Basic
    text: str
    names: tuple[str, ...]
    layer_index: int | None
    source: str | None
    is_binding: bool = False


def collect_conditions(sym: SymbolicPass) -> list[_Atom]:
    """Each guard split at ``and``, tidied, deduplicated (the first row that needed it kept);
    computed once per pass (``sizes`` asks several times)."""
    cached: list[_Atom] | None = getattr(sym, "atoms_cache", None)
    if cached is not None:
        return [dataclasses.replace(a) for a in cached]
    seen: dict[str, _Atom] = {}
    for guard in sym.guards:
        for atom in _atoms(guard.condition):
            if atom is sympy.true:
                continue
            atom = tidy(atom)
            text = python_text(atom)
            if text in seen:
                continue
            names = tuple(sorted(str(s) for s in atom.free_symbols))
            seen[text] = _Atom(atom, text, names, guard.row_index, guard.source)
    sym.atoms_cache = list(seen.values())
    return [dataclasses.replace(a) for a in sym.atoms_cache]


# torch specialises sizes 0 and 1, so a symbol with a hint of 2 or more stands for sizes ≥ 2.
SYMBOLIC_MINIMUM = 2


def valid_sets(
    atoms: list[_Atom], hints: Mapping[str, int]
) -> dict[str, tuple[tuple[Progression, ...], str]]:
    """Per name: (exact sizes along the hint's branch with the others at their hints, text).
    Marks the atoms that bind on some name's slice."""
    out: dict[str, tuple[tuple[Progression, ...], str]] = {}
    for name in hints:
        s = symbol(name)
        others = {symbol(n): v for n, v in hints.items() if n != name}
        mine = [a for a in atoms if name in a.names]
        conditions = [a.condition.subs(others) for a in mine]
        try:
            solution = solve(conditions, s, lower=SYMBOLIC_MINIMUM)
        except Unsolvable as exc:
            out[name] = ((), f"not solved ({exc})")
            for a in mine:
                a.is_binding = True
            continue
        for a, binds in zip(mine, solution.binding, strict=True):
            a.is_binding = a.is_binding or binds
        out[name] = (solution.members, describe_set(solution.members))
    return out


def _positions(specs: Sequence[InputSpec]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    position = 0
    for spec in specs:
        label = spec.name or f"input{position}"
        if spec.name is None:
            position += 1
        items = tensor_specs(spec)
        for k, t in enumerate(items):
            where = f"{label}[{k}]" if isinstance(spec.value, tuple) else label
            for i, d in enumerate(t.shape):
                if isinstance(d, str):
                    out.setdefault(d, []).append(f"{where}[{i}]")
    return out


def symbolic_flatten(
    report: InspectionReport, layers: Sequence[LayerRecord], hints: Mapping[str, int]
) -> SymbolicFlatten | None:
    point = report.flatten
    if point is None:
        return None
    row = next((r for r in layers if r.index == point.layer_index), None)
    if row is None or not row.input_shapes_symbolic:
        return None
    names = list(hints)
    dims = row.input_shapes_symbolic[0][1:]
    if not point.flattened_dims:
        return None  # a selection (x[:, 0]), not a product of dims
    product = sympy.Mul(*(parse_dim(d, names) for d in dims))
    depends = tuple(sorted(str(s) for s in product.free_symbols))
    consumer = point.consumer
    condition = None
    consumer_valid: tuple[tuple[str, str], ...] = ()
    if depends and consumer is not None and consumer.expected_in_features is not None:
        relation = tidy(sympy.Eq(product, consumer.expected_in_features))
        condition = python_text(relation)
        rows = []
        for name in depends:
            s = symbol(name)
            others = {symbol(n): v for n, v in hints.items() if n != name}
            try:
                found = solve([relation.subs(others)], s, lower=1)
                rows.append((name, describe_set(found.members)))
            except Unsolvable as exc:
                rows.append((name, f"not solved ({exc})"))
        consumer_valid = tuple(rows)
    return SymbolicFlatten(
        flattened_dims=tuple(dims),
        features=python_text(product),
        depends_on=depends,
        consumer_condition=condition,
        consumer_valid=consumer_valid,
    )


def tidy(condition: sympy.Basic) -> sympy.Basic:
    """A relation with integer terms, divided by their common factor and with the constant
    moved right: ``Eq(512·⌊H/32⌋·⌊W/32⌋, 25088)`` → ``Eq(⌊H/32⌋·⌊W/32⌋, 49)``,
    ``H/32 ≥ 1`` → ``H ≥ 32``."""
    if isinstance(condition, (sympy.And, sympy.Or)):
        return condition.func(*(tidy(a) for a in condition.args))
    if not isinstance(condition, sympy.core.relational.Relational):
        return condition
    if not (condition.lhs.is_number or condition.rhs.is_number):
        # Two formulas (2·⌈H/4⌉ = ⌈H/2⌉) read best as torch wrote them.
        return condition
    diff = condition.lhs - condition.rhs
    content, primitive = diff.as_content_primitive()
    if not content.is_positive:
        return condition
    constant, rest = primitive.as_coeff_Add()
    if rest == 0:
        return condition
    if rest.could_extract_minus_sign() and condition.rel_op in ("==", "!="):
        rest, constant = -rest, -constant
    return condition.func(rest, -constant)


def _row_key(layer: LayerRecord) -> tuple[str, int, str]:
    return (layer.name, layer.call_index, layer.type)


def attach_symbolic(
    report: InspectionReport,
    sym: SymbolicPass,
    specs: Sequence[InputSpec],
    hint_sources: Mapping[str, str],
) -> InspectionReport:
    """The report with its rows' formulas, the conditions and the exact sizes per name."""
    notes: list[str] = []
    layers = list(report.layers)
    if sym.row_shapes and [_row_key(r) for r in layers] == sym.row_keys:
        layers = [
            dataclasses.replace(r, input_shapes_symbolic=ins, output_shapes_symbolic=outs)
            for r, (ins, outs) in zip(layers, sym.row_shapes, strict=True)
        ]
    elif sym.exception is None:
        notes.append(
            f"the symbolic pass recorded other rows ({len(sym.row_keys)} against "
            f"{len(layers)}): the rows show no formulas"
        )
    atoms = collect_conditions(sym)
    symbolic_hints = {n: v for n, v in sym.hints.items() if n not in sym.specialised}
    sets = valid_sets(atoms, symbolic_hints)
    positions = _positions(specs)
    records = []
    for name, hint in sym.hints.items():
        why = None
        if name in sym.specialised:
            value = sym.specialised[name]
            if hint < 2:
                why = f"torch fixes sizes 0 and 1: {name} = {value} is a constant in the formulas"
            else:
                pin = next((a for a in atoms if a.names == (name,) and "==" in a.text), None)
                at = _where(pin, layers) if pin is not None else ""
                why = (
                    f"torch fixed {name} to {value} on this pass{at}: the formulas hold for "
                    f"{name} = {value}; other sizes fail or take another branch "
                    "(`netinspect sizes` tells which)"
                )
        members: tuple[Progression, ...]
        if name in sym.specialised:
            value = sym.specialised[name]
            members, text = (Progression(value, 1, value),), f"exactly {value}"
            for a in atoms:
                a.is_binding = a.is_binding or a.names == (name,)
        else:
            members, text = sets[name]
        lower, upper = sym.ranges.get(name, (hint, hint))
        records.append(
            SymbolRecord(
                name=name,
                hint=hint,
                hint_source=hint_sources.get(name, ""),
                positions=tuple(positions.get(name, ())),
                valid=tuple(members),
                valid_text=text,
                range_lower=lower,
                range_upper=upper,
                specialised=why,
            )
        )
    conditions = tuple(
        ConditionRecord(
            expression=a.text,
            symbols=a.names,
            layer_index=a.layer_index,
            source=a.source,
            is_binding=a.is_binding,
        )
        for a in atoms
    )
    if any(a.is_binding and "!=" in a.text for a in atoms):
        notes.append(
            "a ≠ condition is a decision torch took on a size (often a size-1 dim, which it "
            "treats apart): sizes outside it take another branch, not necessarily an error; "
            "`netinspect sizes` explores them"
        )
    error = None
    if sym.exception is not None:
        error = describe_exception(sym.exception)
    updated = dataclasses.replace(
        report,
        layers=tuple(layers),
        inputs=tuple(
            dataclasses.replace(i, shape_symbolic=shape)
            for i, shape in zip(report.inputs, _input_shapes(specs), strict=False)
        ),
    )
    flatten = symbolic_flatten(updated, layers, symbolic_hints)
    at_two = [r.name for r in records if r.valid and r.valid[0].start == SYMBOLIC_MINIMUM]
    if at_two:
        notes.append(
            f"torch specialises sizes 0 and 1, so this pass covers {', '.join(at_two)} ≥ 2 "
            "only; `netinspect sizes` checks 1 separately"
        )
    return dataclasses.replace(
        updated,
        symbolic=SymbolicReport(
            symbols=tuple(records),
            conditions=conditions,
            outputs=sym.outputs,
            flatten=flatten,
            notes=tuple(notes),
            error=error,
        ),
    )


def _input_shapes(specs: Sequence[InputSpec]) -> list[SymShape]:
    return [tuple(str(d) for d in t.shape) for s in specs for t in tensor_specs(s)]


def _where(atom: _Atom, layers: Sequence[LayerRecord]) -> str:
    parts = []
    if atom.layer_index is not None and atom.layer_index < len(layers):
        parts.append(layers[atom.layer_index].name or "(root)")
    if atom.source:
        parts.append(atom.source)
    return f" ({readable(atom.text)} at {', '.join(parts)})" if parts else ""


def flattened_product_text(dims: Sequence[str]) -> str:
    """``512×⌊H/32⌋×⌊W/32⌋``."""
    return "×".join(readable(d) for d in dims)
