"""Sets of sizes as unions of arithmetic progressions (``start, start + step, ...``): what the
guard solver returns and the sizes exploration combines. Pure integers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from netinspect.records import Progression


def _minimal_period(residues: set[int], period: int) -> int:
    for g in sorted(d for d in range(1, period + 1) if period % d == 0):
        if all(((r + g) % period in residues) for r in residues):
            return g
    return period


def progressions(
    member: list[bool], lower: int, tail: tuple[int, int, dict[int, bool]] | None
) -> tuple[Progression, ...]:
    end = lower + len(member)

    def is_member(x: int) -> bool:
        return lower <= x < end and member[x - lower]

    covered: set[int] = set()
    parts: list[Progression] = []
    if tail is not None:
        period, threshold, truth = tail
        residues = {r for r, v in truth.items() if v}
        if residues:
            g = _minimal_period(residues, period)
            for c in sorted({r % g for r in residues}):
                first = max(threshold, lower)
                first += (c - first) % g
                start = first
                while start - g >= lower and is_member(start - g):
                    start -= g
                parts.append(Progression(start, g, None))
                covered.update(range(start, end, g))
    finite = [x for x in range(lower, end) if is_member(x) and x not in covered]
    parts += _finite_progressions(finite)
    return tuple(sorted(parts, key=lambda p: p.start))


def _finite_progressions(values: list[int]) -> list[Progression]:
    """Sorted sizes as few progressions: one when evenly spaced, else runs of neighbours."""
    if not values:
        return []
    if len(values) == 1:
        return [Progression(values[0], 1, values[0])]
    steps = {b - a for a, b in itertools.pairwise(values)}
    if len(steps) == 1:
        return [Progression(values[0], steps.pop(), values[-1])]
    out: list[Progression] = []
    start = prev = values[0]
    for v in values[1:]:
        if v != prev + 1:
            out.append(Progression(start, 1, prev))
            start = v
        prev = v
    out.append(Progression(start, 1, prev))
    return out


def contains(members: Sequence[Progression], x: int) -> bool:
    return any(
        x >= p.start and (p.stop is None or x <= p.stop) and (x - p.start) % p.step == 0
        for p in members
    )


def members_up_to(members: Sequence[Progression], end: int, lower: int = 1) -> list[int]:
    """The sizes in ``lower..end`` that are in the set, sorted: generated from each progression
    (work in proportion to the answer, not to ``end``)."""
    out: set[int] = set()
    for p in members:
        first = max(p.start, lower)
        first += (p.start - first) % p.step
        last = end if p.stop is None else min(end, p.stop)
        out.update(range(first, last + 1, p.step))
    return sorted(out)


def _horizon(parts: Sequence[Progression]) -> tuple[int, int]:
    """(threshold, period): past the threshold, membership repeats with the period."""
    period = math.lcm(*(p.step for p in parts if p.stop is None)) if parts else 1
    edge = max((p.stop if p.stop is not None else p.start for p in parts), default=0)
    return edge + 1, period


def union(*sets: Sequence[Progression], lower: int = 1) -> tuple[Progression, ...]:
    """The union of progression sets, as few progressions as ``solve`` would give."""
    parts = [p for s in sets for p in s]
    threshold, period = _horizon(parts)
    end = threshold + period
    member = [contains(parts, x) for x in range(lower, end)]
    truth = {r: contains(parts, threshold + ((r - threshold) % period)) for r in range(period)}
    return progressions(member, lower, (period, threshold, truth))


def first_missing(covered: Sequence[Progression], lower: int = 1) -> int | None:
    """The smallest size ≥ lower outside ``covered``; None when every size is inside."""
    threshold, period = _horizon(covered)
    for x in range(lower, max(lower, threshold) + period):
        if not contains(covered, x):
            return x
    return None


def missing(covered: Sequence[Progression], lower: int = 1, limit: int = 64) -> list[int] | None:
    """Every size ≥ lower outside ``covered`` when they are at most ``limit`` and finite;
    None when there are more (or infinitely many)."""
    threshold, period = _horizon(covered)
    end = max(lower, threshold) + period
    out = []
    for x in range(lower, end):
        if not contains(covered, x):
            out.append(x)
            if len(out) > limit:
                return None
    tail_gap = any(not contains(covered, x) for x in range(max(lower, threshold), end))
    return None if tail_gap else out


def nearest_missing(covered: Sequence[Progression], near: int, lower: int = 1) -> int | None:
    """The size outside ``covered`` closest to ``near`` (the smaller one on a tie)."""
    threshold, period = _horizon(covered)
    end = max(lower, threshold, near) + period
    for k in range(end):
        for x in (near - k, near + k):
            if lower <= x and not contains(covered, x):
                return x
    return None


def intersect(
    a: Sequence[Progression], b: Sequence[Progression], lower: int = 1
) -> tuple[Progression, ...]:
    """The sizes in both sets."""
    threshold, period = _horizon([*a, *b])
    end = threshold + period
    member = [contains(a, x) and contains(b, x) for x in range(lower, end)]
    truth = {
        r: contains(a, y) and contains(b, y)
        for r in range(period)
        for y in [threshold + ((r - threshold) % period)]
    }
    return progressions(member, lower, (period, threshold, truth))
