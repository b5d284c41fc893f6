"""Exact integer solution sets of symbolic-shape conditions (sympy only, no torch).

A symbolic pass (``netinspect.capture.symbolic``) leaves the conditions torch needed along the way:
``⌊H/32⌋ ≥ 1``, ``Eq(512·⌊H/32⌋·⌊W/32⌋, 25088)``, ``Eq(H mod 8, 0)``. This module turns them
into the set of sizes where they all hold, per symbol (the others at their hints), exactly.

Why not torch's own ``DimConstraints``: it linearises ``⌊H/32⌋`` by evaluating ``H mod 32`` at
the hint, so it answers "H = 32·k, k ≥ 1" for vgg16 where every H ≥ 32 works. Here the mod is
kept: with x = L·q + r for a period L (the lcm of the divisors) and each residue r, every
floor and mod becomes a polynomial in q, exactly. A polynomial's sign is constant past its
Cauchy root bound, so each condition is eventually constant on each residue class; below
that threshold every size is evaluated exactly with integer arithmetic. The result is the
exact set: a finite part plus a periodic tail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy

from netinspect.analysis.guard_eval import (
    Unsolvable,
    compare,
    compile_condition,
    safely,
    split_fraction,
)
from netinspect.analysis.intsets import progressions
from netinspect.records import Progression

# Sizes below the proven threshold are evaluated one by one; past this the answer would be
# a guess, so the solver reports the set as unsolved instead.
MAX_EVALUATED = 1 << 20
MAX_PERIOD = 1 << 12

Poly = dict[int, Fraction]  # power of q -> coefficient


class _NeedPeriod(Exception):
    def __init__(self, factor: int) -> None:
        super().__init__(factor)
        self.factor = factor


# --- polynomials in q (dicts, exact Fractions) -----------------------------------------------


def _const(c: int | Fraction) -> Poly:
    return {0: Fraction(c)} if c else {}


def _add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, Fraction(0)) + sign * v
        if not out[k]:
            del out[k]
    return out


def _mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for i, x in a.items():
        for j, y in b.items():
            out[i + j] = out.get(i + j, Fraction(0)) + x * y
    return {k: v for k, v in out.items() if v}


def _scale(a: Poly, c: Fraction) -> Poly:
    return {k: v * c for k, v in a.items() if v * c}


def _degree(a: Poly) -> int:
    return max(a) if a else -1


def _lead(a: Poly) -> Fraction:
    return a[max(a)] if a else Fraction(0)


def _constant_term(a: Poly) -> Fraction:
    return a.get(0, Fraction(0))


def _settles(a: Poly) -> int:
    """A q past which ``a(q)`` has the sign of its leading coefficient (Cauchy's bound on the
    real roots: every root has |root| < 1 + max |a_i / a_n|)."""
    if _degree(a) <= 0:
        return 0
    lead = abs(_lead(a))
    if len(a) == 1:
        return 1
    return math.floor(1 + max(abs(v) / lead for k, v in a.items() if k != max(a))) + 1


def _divide(n: Poly, d: Poly) -> tuple[Poly, Poly]:
    """Polynomial division: n = s·d + rem with deg rem < deg d."""
    s: Poly = {}
    rem = dict(n)
    dd, dl = _degree(d), _lead(d)
    while rem and _degree(rem) >= dd:
        k = _degree(rem) - dd
        c = rem[_degree(rem)] / dl
        s[k] = s.get(k, Fraction(0)) + c
        rem = _add(rem, _mul({k: c}, d), -1)
    return s, rem


# --- reduction on one residue class: x = L·q + r ---------------------------------------------

# (polynomial in q, threshold): the expression equals the polynomial for every q ≥ threshold.
_Value = tuple[Poly, int]
# (truth value, threshold): the condition has this truth value for every q ≥ threshold.
_Truth = tuple[bool, int]


def _floor_of(p: Poly, threshold: int) -> _Value:
    """⌊p(q)⌋ for a polynomial whose non-constant coefficients are integers; otherwise the
    period must grow by the offending denominator."""
    for k, v in p.items():
        if k and v.denominator != 1:
            raise _NeedPeriod(v.denominator)
    c = _constant_term(p)
    out = {k: v for k, v in p.items() if k}
    out = _add(out, _const(math.floor(c)))
    return out, threshold


def _floor_ratio(n: Poly, d: Poly, threshold: int) -> _Value:
    """⌊n(q)/d(q)⌋ for large q, d of degree ≥ 1: eventually a polynomial."""
    if _lead(d) < 0:
        n, d = _scale(n, Fraction(-1)), _scale(d, Fraction(-1))
    t = max(threshold, _settles(d))
    if not n:
        return {}, t
    s, rem = _divide(n, d)
    for k, v in s.items():
        if k and v.denominator != 1:
            raise _NeedPeriod(v.denominator)
    c = _constant_term(s)
    base = {k: v for k, v in s.items() if k}
    k0 = math.floor(c)
    f = c - k0
    # ⌊c + rem/d⌋ with rem/d → 0: stays k0 when f > 0 once |rem/d| < min(f, 1 − f); with
    # f = 0 it is k0 when rem ≥ 0 and k0 − 1 when rem < 0.
    if f:
        t = max(t, _settles(_add(_scale(d, f), rem)), _settles(_add(_scale(d, 1 - f), rem, -1)))
        return _add(base, _const(k0)), t
    if not rem:
        return _add(base, _const(k0)), t
    if _lead(rem) > 0:
        t = max(t, _settles(rem), _settles(_add(d, rem, -1)))
        return _add(base, _const(k0)), t
    t = max(t, _settles(rem), _settles(_add(d, rem)))
    return _add(base, _const(k0 - 1)), t


class _Reducer:
    def __init__(self, symbol: sympy.Symbol, period: int, residue: int) -> None:
        self.symbol = symbol
        self.x: Poly = _add({1: Fraction(period)}, _const(residue))

    def value(self, e: sympy.Basic) -> _Value:
        if e.is_Integer or e.is_Rational:
            return _const(Fraction(int(e.p), int(e.q))), 0
        if e == self.symbol:
            return dict(self.x), 0
        if isinstance(e, sympy.Add):
            acc: Poly = {}
            t = 0
            for a in e.args:
                p, ta = self.value(a)
                acc, t = _add(acc, p), max(t, ta)
            return acc, t
        if isinstance(e, sympy.Mul):
            acc = _const(1)
            t = 0
            for a in e.args:
                p, ta = self.value(a)
                acc, t = _mul(acc, p), max(t, ta)
            return acc, t
        if isinstance(e, sympy.Pow) and e.exp.is_Integer and int(e.exp) >= 0:
            p, t = self.value(e.base)
            acc = _const(1)
            for _ in range(int(e.exp)):
                acc = _mul(acc, p)
            return acc, t
        if isinstance(e, sympy.Pow) and e.exp == -1:
            p, t = self.value(e.base)
            if _degree(p) != 0:
                raise Unsolvable(f"a division by a size outside a floor: {e}")
            return _const(1 / _constant_term(p)), t
        if isinstance(e, sympy.floor):
            return self.floor(e.args[0])
        if isinstance(e, sympy.ceiling):
            p, t = self.floor(-e.args[0])
            return _scale(p, Fraction(-1)), t
        if isinstance(e, sympy.Mod):
            a, b = e.args
            pa, ta = self.value(a)
            q, tq = self.floor(a / b)
            pb, tb = self.value(b)
            return _add(pa, _mul(pb, q), -1), max(ta, tq, tb)
        if isinstance(e, (sympy.Max, sympy.Min)):
            return self.extreme(e.args, isinstance(e, sympy.Max))
        raise Unsolvable(f"cannot follow {type(e).__name__} in {e}")

    def floor(self, arg: sympy.Basic) -> _Value:
        num, den = split_fraction(arg)
        pn, tn = self.value(num)
        pd, td = self.value(den)
        t = max(tn, td)
        if _degree(pd) <= 0:
            if not pd:
                raise Unsolvable(f"division by zero in {arg}")
            return _floor_of(_scale(pn, 1 / _constant_term(pd)), t)
        return _floor_ratio(pn, pd, t)

    def extreme(self, args: Iterable[sympy.Basic], is_max: bool) -> _Value:
        best: _Value | None = None
        for a in args:
            p, t = self.value(a)
            if best is None:
                best = (p, t)
                continue
            diff = _add(p, best[0], -1)
            t = max(t, best[1], _settles(diff))
            wins = bool(diff) and (_lead(diff) > 0) == is_max
            best = (p, t) if wins else (best[0], t)
        assert best is not None
        return best

    def truth(self, e: sympy.Basic) -> _Truth:
        if e is sympy.true or e is True:
            return True, 0
        if e is sympy.false or e is False:
            return False, 0
        if isinstance(e, sympy.And):
            parts = [self.truth(a) for a in e.args]
            return all(v for v, _ in parts), max(t for _, t in parts)
        if isinstance(e, sympy.Or):
            parts = [self.truth(a) for a in e.args]
            return any(v for v, _ in parts), max(t for _, t in parts)
        if isinstance(e, sympy.Not):
            v, t = self.truth(e.args[0])
            return not v, t
        if isinstance(e, sympy.core.relational.Relational):
            pl, tl = self.value(e.lhs)
            pr, tr = self.value(e.rhs)
            diff = _add(pl, pr, -1)
            t = max(tl, tr, _settles(diff))
            sign = 0 if not diff else (1 if _lead(diff) > 0 else -1)
            return compare(e.rel_op, sign), t
        raise Unsolvable(f"cannot follow the condition {e}")


# --- the solver -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Solution:
    """The exact set of sizes of one symbol where every condition holds."""

    members: tuple[Progression, ...]
    # Per condition: whether it excludes a size that every other condition allows.
    binding: tuple[bool, ...]
    # The tail repeats with this period from this size on (for tests and reports).
    period: int
    threshold: int


def _period_and_threshold(
    conditions: Sequence[sympy.Basic], symbol: sympy.Symbol
) -> tuple[int, list[int], list[list[bool]]]:
    """(L, X, tail): for x ≥ X[i], condition i holds at x iff tail[i][x mod L]."""
    period = 1
    while True:
        try:
            tail: list[list[bool]] = [[] for _ in conditions]
            thresholds = [0 for _ in conditions]
            for r in range(period):
                reducer = _Reducer(symbol, period, r)
                for i, c in enumerate(conditions):
                    v, t = reducer.truth(c)
                    tail[i].append(v)
                    thresholds[i] = max(thresholds[i], period * t + r + 1)
            return period, thresholds, tail
        except _NeedPeriod as need:
            period *= need.factor
            if period > MAX_PERIOD:
                raise Unsolvable(f"the conditions repeat with a period over {MAX_PERIOD}") from None


def solve(
    conditions: Sequence[sympy.Basic],
    symbol: sympy.Symbol,
    *,
    lower: int = 1,
    upper: int | None = None,
) -> Solution:
    """Every integer size ``lower ≤ x (≤ upper)`` of ``symbol`` satisfying all ``conditions``
    (which mention no other symbol), and which conditions bind. Raises Unsolvable for what
    the analysis cannot follow."""
    conditions = list(conditions)
    period, thresholds, tail = _period_and_threshold(conditions, symbol)
    threshold = max(thresholds, default=0)
    end = max(threshold + period if upper is None else upper + 1, lower)
    if end - lower > MAX_EVALUATED:
        raise Unsolvable(f"the pattern settles only past {end:,}")
    sizes = range(lower, end)
    table = []
    for i, c in enumerate(conditions):
        # Each condition is evaluated exactly below its own threshold; past it the residue
        # analysis answers, checked against evaluation over one more period.
        f = compile_condition(c)
        known = thresholds[i] if upper is None else end
        row = [safely(f, {symbol: x}) if x < known else tail[i][x % period] for x in sizes]
        if upper is None:
            for x in range(max(known, lower), max(known, lower) + period):
                if safely(f, {symbol: x}) != tail[i][x % period]:
                    raise Unsolvable(f"residue analysis and evaluation disagree at {x}")
        table.append(row)
    member = [all(row[k] for row in table) for k in range(len(sizes))]
    binding = []
    for i in range(len(conditions)):
        others = [row for j, row in enumerate(table) if j != i]
        binding.append(
            any(not table[i][k] and all(r[k] for r in others) for k in range(len(sizes)))
        )
    tail_member = None
    if upper is None:
        tail_member = (
            period,
            threshold,
            {r: all(t[r] for t in tail) for r in range(period)},
        )
    return Solution(
        members=progressions(member, lower, tail_member),
        binding=tuple(binding),
        period=period,
        threshold=threshold,
    )
