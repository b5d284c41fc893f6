"""The data-flow graph of a report, shared by the picture formats (HTML, Mermaid). No torch.

It reads the report *dict* (``report.to_dict()`` or a saved ``--format json`` file), so a page
can be drawn from a saved report, and keys newer than this module's records are used when they
are there (``layers[].inputs_from``).

**Nodes** are rows. The *view tree* is the module tree with each run of identical sibling module
blocks (the definition ``collapse_repeats`` uses: same kind, type, parameter count, shapes and
subtree) gathered under a *group* (``layer1.1–2 × 2``); repeated op calls stay apart, as each
has its own inputs. A *fold state* is the set of folded containers
and groups: a folded one is one node, an unfolded one a box around its children. View ids are
``r<position>`` for rows and ``g<number>`` for groups.

**Edges** carry tensors from the row that produced them to the row that consumed them:

- with data flow (``inputs_from``, parallel to ``input_shapes``): an int is the ``index`` of the
  innermost row whose output the input is, ``"input"`` the model input; ``"param"``,
  ``"buffer"`` and ``"const"`` draw no edge;
- without it: a row's first input comes from its previous sibling, and a first child's from
  wherever its parent's input came from (the model input at the top).

An edge is drawn between the *visible* nodes standing for its ends (``graph_fold``): the
outermost folded node that hides a row, and for a producer that is an unfolded box, the node
that produced the box's output (its last child's, recursively).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INPUT = -1
INPUT_ID = "x_in"
OUTPUT_ID = "x_out"


@dataclass(frozen=True, slots=True)
class Edge:
    """A tensor from ``source`` (row position, or ``INPUT``) to ``target`` (row position)."""

    source: int
    target: int
    label: str


@dataclass(frozen=True, slots=True)
class Graph:
    rows: tuple[Mapping[str, Any], ...]
    # Per row position: the parent's position, -1 at the top.
    parent: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    # The root row when it is drawn as the canvas rather than as a node (it has children).
    canvas: int | None
    # View tree: ids of each container's children ("" holds the top level), and each id's parent.
    kids: Mapping[str, tuple[str, ...]]
    up: Mapping[str, str]
    groups: tuple[tuple[int, ...], ...]
    edges: tuple[Edge, ...]
    has_data_flow: bool
    # Rows kept visible by default: the flatten point, its consumers, the failing row.
    pinned: frozenset[int]


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def row_id(position: int) -> str:
    return f"r{position}"


def row_position(view_id: str) -> int | None:
    return int(view_id[1:]) if view_id.startswith("r") else None


def _tree(rows: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[list[int]]]:
    """Parent and children per position, from the pre-order depths."""
    parent = [-1] * len(rows)
    children: list[list[int]] = [[] for _ in rows]
    stack: list[int] = []
    for i, row in enumerate(rows):
        depth = int(row["depth"])
        while stack and int(rows[stack[-1]]["depth"]) >= depth:
            stack.pop()
        if stack:
            parent[i] = stack[-1]
            children[stack[-1]].append(i)
        stack.append(i)
    return parent, children


def last_part(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _signatures(rows: Sequence[Mapping[str, Any]], children: Sequence[Sequence[int]]) -> list[int]:
    """Structural signature per row, as ``analysis.collapse_repeats`` defines "identical"."""
    interned: dict[tuple[object, ...], int] = {}
    sig = [0] * len(rows)
    for i in range(len(rows) - 1, -1, -1):
        row = rows[i]
        key = (
            row["kind"],
            row["type"],
            int(row.get("params", 0)) + int(row.get("shared_params", 0)),
            tuple(tuple(s) for s in row["input_shapes"]),
            tuple(tuple(s) for s in row["output_shapes"]),
            tuple((last_part(rows[c]["name"]), sig[c]) for c in children[i]),
        )
        sig[i] = interned.setdefault(key, len(interned))
    return sig


def _subtree_end(children: Sequence[Sequence[int]], i: int) -> int:
    while children[i]:
        i = children[i][-1]
    return i + 1


def flatten_consumers(flatten: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every consumer of the flatten point: ``consumers`` (several heads), else the older
    single ``consumer``."""
    consumers = flatten.get("consumers")
    if isinstance(consumers, list):
        return [c for c in consumers if isinstance(c, Mapping)]
    consumer = flatten.get("consumer")
    return [consumer] if isinstance(consumer, Mapping) else []


def _pinned(report: Mapping[str, Any], position: Mapping[int, int]) -> frozenset[int]:
    indices: list[Any] = []
    flatten = report.get("flatten")
    if isinstance(flatten, Mapping):
        indices.append(flatten.get("layer_index"))
        indices += [c.get("layer_index") for c in flatten_consumers(flatten)]
    error = report.get("error")
    if isinstance(error, Mapping):
        indices.append(error.get("layer_index"))
    return frozenset(position[i] for i in indices if isinstance(i, int) and i in position)


def _view_tree(
    rows: Sequence[Mapping[str, Any]],
    top: Sequence[int],
    children: Sequence[Sequence[int]],
    sig: Sequence[int],
    pinned: frozenset[int],
) -> tuple[dict[str, tuple[str, ...]], dict[str, str], list[tuple[int, ...]]]:
    kids: dict[str, tuple[str, ...]] = {}
    up: dict[str, str] = {}
    groups: list[tuple[int, ...]] = []

    def siblings(owner: str, members: Sequence[int]) -> None:
        out: list[str] = []
        k = 0
        while k < len(members):
            m = k + 1
            while m < len(members) and sig[members[m]] == sig[members[k]]:
                m += 1
            run = tuple(members[k:m])
            span = range(run[0], _subtree_end(children, run[-1]))
            # Repeated *blocks*: two calls of an op in a row (x.unsqueeze twice) are two steps
            # of the data flow, each with its own inputs, not a block to fold.
            is_block = rows[run[0]]["kind"] == "module"
            if len(run) > 1 and is_block and not any(p in span for p in pinned):
                gid = f"g{len(groups)}"
                groups.append(run)
                out.append(gid)
                up[gid] = owner
                kids[gid] = tuple(row_id(r) for r in run)
                for r in run:
                    up[row_id(r)] = gid
                    visit(r)
            else:
                for r in run:
                    out.append(row_id(r))
                    up[row_id(r)] = owner
                    visit(r)
            k = m
        kids[owner] = tuple(out)

    def visit(r: int) -> None:
        if children[r]:
            siblings(row_id(r), children[r])

    siblings("", top)
    return kids, up, groups


def _owner_finder(
    indices: Sequence[int], ends: Sequence[int], parent: Sequence[int]
) -> Callable[[int], int | None]:
    """Position of the row whose subtree holds a row ``index`` that is not itself in the report
    (hidden by ``--depth`` or ``--collapse``); None when no row holds it."""

    def find(index: int) -> int | None:
        pos = bisect.bisect_right(indices, index) - 1
        while pos >= 0 and index >= ends[pos]:
            pos = parent[pos]
        return pos if pos >= 0 else None

    return find


def _data_flow_edges(
    rows: Sequence[Mapping[str, Any]],
    parent: Sequence[int],
    children: Sequence[Sequence[int]],
    canvas: int | None,
) -> list[Edge]:
    """Edges from ``inputs_from``; a producer hidden by folding is the row that holds it."""
    indices = [int(r["index"]) for r in rows]
    # Original index one past each row's subtree, to place producers hidden by folding.
    ends = []
    for i in range(len(rows)):
        end = _subtree_end(children, i)
        ends.append(int(rows[end]["index"]) if end < len(rows) else 1 << 62)
    position = {index: i for i, index in enumerate(indices)}
    find = _owner_finder(indices, ends, parent)
    edges: list[Edge] = []
    for i, row in enumerate(rows):
        if i == canvas:
            continue  # the model's own input: drawn as the input node
        shapes = row.get("input_shapes") or []
        for k, source in enumerate(row.get("inputs_from") or []):
            label = shape_text(shapes[k]) if k < len(shapes) else ""
            if source == "input":
                edges.append(Edge(INPUT, i, label))
            elif isinstance(source, int) and not isinstance(source, bool):
                producer = position.get(source)
                if producer is None:
                    producer = find(source)
                if producer is not None and producer != i:
                    edges.append(Edge(producer, i, label))
    return edges


def _tree_edges(
    rows: Sequence[Mapping[str, Any]],
    parent: Sequence[int],
    children: Sequence[Sequence[int]],
    canvas: int | None,
) -> list[Edge]:
    """Edges from order alone: previous sibling, else the parent's source."""
    roots = [i for i, p in enumerate(parent) if p < 0]
    source = [INPUT] * len(rows)
    edges: list[Edge] = []
    for i, row in enumerate(rows):
        if i == canvas:
            continue
        p = parent[i]
        siblings = children[p] if p >= 0 else roots
        k = bisect.bisect_left(siblings, i)
        if k > 0:
            source[i] = siblings[k - 1]
        elif p >= 0 and p != canvas:
            source[i] = source[p]
        shapes = row.get("input_shapes") or []
        if shapes:
            edges.append(Edge(source[i], i, shape_text(shapes[0])))
    return edges


def build_graph(report: Mapping[str, Any]) -> Graph:
    """The view tree and the edges of a report dict (see the module docstring)."""
    rows: tuple[Mapping[str, Any], ...] = tuple(report.get("layers") or ())
    parent, children = _tree(rows)
    roots = [i for i, p in enumerate(parent) if p < 0]
    canvas = roots[0] if len(roots) == 1 and children[roots[0]] else None
    top = children[canvas] if canvas is not None else roots
    position = {int(r["index"]): i for i, r in enumerate(rows)}
    pinned = _pinned(report, position)
    kids, up, groups = _view_tree(rows, top, children, _signatures(rows, children), pinned)
    has_flow = any("inputs_from" in r for r in rows)
    make_edges = _data_flow_edges if has_flow else _tree_edges
    edges = make_edges(rows, parent, children, canvas)
    return Graph(
        rows=rows,
        parent=tuple(parent),
        children=tuple(tuple(c) for c in children),
        canvas=canvas,
        kids=kids,
        up=up,
        groups=tuple(groups),
        edges=tuple(edges),
        has_data_flow=has_flow,
        pinned=pinned,
    )
