"""A checkpoint's tensors as a tree by dotted prefix, folded like the layer table: a module's
own tensors on its row, its subtree's elements and bytes summed, and runs of identical numbered
siblings (``layers.0``–``layers.31``) shown once as ``layers.0–31 × 32``. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from netinspect.checkpoint_records import TensorEntry


@dataclass(frozen=True, slots=True)
class TreeRow:
    name: str  # the dotted prefix ("" for the root's own tensors), "layers.0–31" when folded
    depth: int
    tensors: tuple[TensorEntry, ...]  # this module's own tensors (leaf name in .key)
    numel: int  # the subtree's elements, times repeat
    nbytes: int
    repeat: int = 1


@dataclass
class _Node:
    tensors: list[TensorEntry] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)
    numel: int = 0
    nbytes: int = 0


def _tree(tensors: tuple[TensorEntry, ...]) -> _Node:
    root = _Node()
    for t in tensors:
        *path, leaf = t.key.split(".")
        node = root
        node.numel += t.numel
        node.nbytes += t.nbytes
        for part in path:
            node = node.children.setdefault(part, _Node())
            node.numel += t.numel
            node.nbytes += t.nbytes
        node.tensors.append(TensorEntry(leaf, t.shape, t.dtype, t.numel, t.nbytes, t.shard))
    return root


def _signature(node: _Node) -> tuple[object, ...]:
    own = tuple((t.key, t.shape, t.dtype) for t in node.tensors)
    return (own, tuple((k, _signature(c)) for k, c in node.children.items()))


def _runs(children: dict[str, _Node], fold: bool) -> list[tuple[str, _Node, int]]:
    """(label, first node, count) for each run of consecutive numbered identical siblings."""
    items = list(children.items())
    out: list[tuple[str, _Node, int]] = []
    i = 0
    while i < len(items):
        name, node = items[i]
        j = i + 1
        if fold and name.isdigit():
            sig = _signature(node)
            while (
                j < len(items)
                and items[j][0].isdigit()
                and int(items[j][0]) == int(items[j - 1][0]) + 1
                and _signature(items[j][1]) == sig
            ):
                j += 1
        count = j - i
        out.append((name if count == 1 else f"{name}–{items[j - 1][0]}", node, count))
        i = j
    return out


def checkpoint_tree(
    tensors: tuple[TensorEntry, ...], *, fold: bool = True, depth: int | None = None
) -> tuple[TreeRow, ...]:
    """Rows in key order. ``depth`` hides rows nested deeper (their sums stay on the parent,
    their tensors are not listed)."""
    rows: list[TreeRow] = []
    root = _tree(tensors)
    if root.tensors:
        rows.append(TreeRow("", 0, tuple(root.tensors), sum(t.numel for t in root.tensors),
                            sum(t.nbytes for t in root.tensors)))  # fmt: skip

    def walk(node: _Node, prefix: str, level: int, repeat: int) -> None:
        for label, child, count in _runs(node.children, fold):
            name = f"{prefix}{label}"
            rows.append(
                TreeRow(
                    name,
                    level,
                    tuple(child.tensors) if depth is None or level < depth else (),
                    child.numel * count * repeat,
                    child.nbytes * count * repeat,
                    count,
                )
            )
            if depth is None or level < depth:
                # A folded run shows its first member's subtree, named by the run's label.
                walk(child, f"{name}.", level + 1, 1)

    walk(root, "", 0, 1)
    return tuple(rows)
