"""Aligning two sequences of keys, near-linear on long inputs: ``diff``'s row alignment.

``difflib.SequenceMatcher`` finds a longest common subsequence, but its cost grows with the
product of the lengths when keys repeat, and rows repeat a lot (``blocks.#.fc`` ten thousand
times): 12k rows took 12 s, 120k over a minute. Small inputs still go to SequenceMatcher, so
the diffs people read (and the golden files) do not change. Long ones are aligned the way
patience diff does it:

1. the common prefix and suffix match as they are (one inserted layer in 120k rows: done);
2. keys that occur exactly once on each side of what is left are anchors; the longest run of
   anchors in the same order on both sides (a longest increasing subsequence) matches;
3. each gap between anchors is aligned the same way, or by SequenceMatcher when it is small.

A gap that is long and has no anchor at all (two unrelated halves) is left unmatched: its
rows read as removed and added. Every step is linear, or n log n for the anchors.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Hashable, Sequence

Opcode = tuple[str, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)
_Block = tuple[int, int, int]  # (i, j, size): a[i:i+size] == b[j:j+size]

# len(a) * len(b) up to this goes to difflib.SequenceMatcher (about 0.05 s at worst).
SMALL_PRODUCT = 250_000


def opcodes(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    anchors: tuple[Sequence[Hashable], Sequence[Hashable]] | None = None,
) -> list[Opcode]:
    """difflib-style opcodes turning ``a`` into ``b``. ``anchors`` optionally gives a second,
    more unique key per element (the exact row name where ``a``/``b`` hold structural keys):
    where a gap has no unique key, an element whose anchor key is unique on both sides and
    whose ``a``/``b`` keys are equal is matched too."""
    if len(a) * len(b) <= SMALL_PRODUCT:
        return list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
    return _to_opcodes(_matching_blocks(a, b, anchors), len(a), len(b))


def _matching_blocks(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    anchors: tuple[Sequence[Hashable], Sequence[Hashable]] | None,
) -> list[_Block]:
    """Matching blocks in order. An explicit stack, not recursion: gaps nest arbitrarily."""
    out: list[_Block] = []
    # Items: a block ready to emit, or a range (alo, ahi, blo, bhi) still to align.
    stack: list[tuple[str, tuple[int, int, int, int]]] = [("range", (0, len(a), 0, len(b)))]
    while stack:
        kind, item = stack.pop()
        if kind == "block":
            out.append(item[:3])
            continue
        stack.extend(reversed(_split_range(a, b, anchors, *item)))
    return _merge_adjacent(out)


def _split_range(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    anchors: tuple[Sequence[Hashable], Sequence[Hashable]] | None,
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
) -> list[tuple[str, tuple[int, int, int, int]]]:
    """One range as an ordered list of blocks and smaller ranges."""
    parts: list[tuple[str, tuple[int, int, int, int]]] = []
    prefix = 0
    while alo + prefix < ahi and blo + prefix < bhi and a[alo + prefix] == b[blo + prefix]:
        prefix += 1
    suffix = 0
    while (
        ahi - suffix > alo + prefix
        and bhi - suffix > blo + prefix
        and a[ahi - suffix - 1] == b[bhi - suffix - 1]
    ):
        suffix += 1
    if prefix:
        parts.append(("block", (alo, blo, prefix, 0)))
    mlo, mhi, nlo, nhi = alo + prefix, ahi - suffix, blo + prefix, bhi - suffix
    if mlo < mhi and nlo < nhi:
        if (mhi - mlo) * (nhi - nlo) <= SMALL_PRODUCT:
            matcher = difflib.SequenceMatcher(None, a[mlo:mhi], b[nlo:nhi], autojunk=False)
            parts += [
                ("block", (mlo + i, nlo + j, size, 0))
                for i, j, size in matcher.get_matching_blocks()
                if size
            ]
        else:
            matched = _anchor_pairs(a, b, mlo, mhi, nlo, nhi)
            if not matched and anchors is not None:
                matched = [
                    (i, j) for i, j in _anchor_pairs(*anchors, mlo, mhi, nlo, nhi) if a[i] == b[j]
                ]
            i0, j0 = mlo, nlo
            for i, j in _longest_increasing(matched):
                if i0 < i or j0 < j:
                    parts.append(("range", (i0, i, j0, j)))
                parts.append(("block", (i, j, 1, 0)))
                i0, j0 = i + 1, j + 1
            if matched and (i0 < mhi or j0 < nhi):
                parts.append(("range", (i0, mhi, j0, nhi)))
            # No anchor at all: the stretch stays unmatched (removed and added).
    if suffix:
        parts.append(("block", (ahi - suffix, bhi - suffix, suffix, 0)))
    return parts


def _anchor_pairs(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """(i, j) for each key that occurs exactly once in a[alo:ahi] and once in b[blo:bhi]."""
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_b = {b[j]: j for j in range(blo, bhi) if count_b[b[j]] == 1}
    return [(i, where_b[a[i]]) for i in range(alo, ahi) if count_a[a[i]] == 1 and a[i] in where_b]


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (sorted by i) whose j increase too: patience
    sorting, n log n."""
    tails: list[int] = []  # tails[k]: the smallest j ending an increasing run of length k+1
    tail_at: list[int] = []  # the index in ``pairs`` of that run's last pair
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k] = j
            tail_at[k] = index
        previous[index] = tail_at[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _merge_adjacent(blocks: list[_Block]) -> list[_Block]:
    merged: list[_Block] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((i, j, size))
    return merged


def _to_opcodes(blocks: list[_Block], len_a: int, len_b: int) -> list[Opcode]:
    """difflib.SequenceMatcher.get_opcodes from matching blocks."""
    ops: list[Opcode] = []
    i = j = 0
    for ai, bj, size in [*blocks, (len_a, len_b, 0)]:
        if i < ai and j < bj:
            ops.append(("replace", i, ai, j, bj))
        elif i < ai:
            ops.append(("delete", i, ai, j, bj))
        elif j < bj:
            ops.append(("insert", i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            ops.append(("equal", ai, i, bj, j))
    return ops
