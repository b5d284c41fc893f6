"""Fold states of a ``Graph`` (``netinspect.render.graph``): which nodes show, the edges
between them, and the titles both picture formats give them. No torch.

``assets/graph.js`` implements the same rules for the page's clicks; this module gives the
state a page opens with and the whole Mermaid chart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from netinspect.render.graph import INPUT, INPUT_ID, Graph, last_part, row_id, row_position

Folded = frozenset[str] | set[str]


# --- fold states ----------------------------------------------------------------------------


def containers(graph: Graph) -> Iterator[str]:
    return (v for v, k in graph.kids.items() if v and k)


def ancestors(graph: Graph, view_id: str) -> Iterator[str]:
    """View ancestors, innermost first (the top level "" excluded)."""
    v = graph.up.get(view_id, "")
    while v:
        yield v
        v = graph.up.get(v, "")


def visible_count(graph: Graph, folded: Folded) -> int:
    count = 0
    stack = list(graph.kids.get("", ()))
    while stack:
        v = stack.pop()
        inner = graph.kids.get(v, ())
        if inner and v not in folded:
            stack.extend(inner)
        else:
            count += 1
    return count


def default_folded(graph: Graph, budget: int) -> frozenset[str]:
    """Repeats folded; containers unfolded a whole level at a time (all the blocks at one depth,
    or none of them, so the picture has one grain) while at most ``budget`` nodes show. The
    pinned rows (flatten point, consumer, failure) are shown whatever the budget."""
    folded = set(containers(graph))
    for p in graph.pinned:
        folded.difference_update(ancestors(graph, row_id(p)))
    count = visible_count(graph, folded)
    level = [v for v in graph.kids.get("", ()) if graph.kids.get(v)]
    while level:
        closed = [v for v in level if v in folded and not v.startswith("g")]
        grows = sum(len(graph.kids[v]) - 1 for v in closed)
        if count + grows > budget:
            break
        folded.difference_update(closed)
        count += grows
        level = [k for v in level if v not in folded for k in graph.kids[v] if graph.kids.get(k)]
    return frozenset(folded)


def _outermost_folded(graph: Graph, view_id: str, folded: Folded) -> str | None:
    found = view_id if view_id in folded else None
    for a in ancestors(graph, view_id):
        if a in folded:
            found = a
    return found


def producer_node(graph: Graph, position: int, folded: Folded) -> str:
    """The visible node that stands for row ``position``'s output."""
    if position == graph.canvas:
        return INPUT_ID
    while True:
        v = row_id(position)
        hidden = _outermost_folded(graph, v, folded)
        if hidden is not None:
            return hidden
        if not graph.children[position]:
            return v
        position = graph.children[position][-1]


def consumer_node(graph: Graph, position: int, folded: Folded) -> str | None:
    """The visible node that stands for row ``position``'s input; None for an unfolded box
    (its children draw their own inputs)."""
    v = row_id(position)
    hidden = _outermost_folded(graph, v, folded)
    if hidden is not None:
        return hidden
    return None if graph.kids.get(v) else v


def output_source(graph: Graph) -> int | None:
    """The row whose output is the model's output: the last top-level row that has one."""
    top = graph.kids.get("", ())
    for v in reversed(top):
        pos = row_position(v)
        if pos is None:
            pos = graph.groups[int(v[1:])][-1]
        if graph.rows[pos].get("output_shapes"):
            return pos
    return None


def visible_edges(graph: Graph, folded: Folded) -> list[tuple[str, str, str]]:
    """(source id, target id, label) between visible nodes, deduplicated, in row order."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str]] = []
    for e in graph.edges:
        target = consumer_node(graph, e.target, folded)
        if target is None:
            continue
        source = INPUT_ID if e.source == INPUT else producer_node(graph, e.source, folded)
        if source == target or (source, target) in seen:
            continue
        seen.add((source, target))
        out.append((source, target, e.label))
    return out


# --- labels shared by the picture formats ---------------------------------------------------


def range_name(first: str, last: str) -> str:
    """``layer1.1–3`` from ``layer1.1`` and ``layer1.3`` (the shared prefix dropped)."""
    a = re.fullmatch(r"(.*?)(\d+)", last_part(first))
    b = re.fullmatch(r"(.*?)(\d+)", last_part(last))
    end = b.group(2) if a and b and a.group(1) == b.group(1) else last_part(last)
    return f"{first}–{end}"


def node_title(graph: Graph, view_id: str) -> str:
    """``features.0``, ``flatten()``, ``layer1.1–2 × 2``, ``(root)``."""
    pos = row_position(view_id)
    if pos is None:
        run = graph.groups[int(view_id[1:])]
        first, last = graph.rows[run[0]], graph.rows[run[-1]]
        if first["kind"] == "function" or first["name"] == last["name"]:
            # Repeated op calls (or calls of one module) share a name: no range to show.
            return f"{node_title(graph, row_id(run[0]))} × {len(run)}"
        return f"{range_name(first['name'], last['name'])} × {len(run)}"
    row = graph.rows[pos]
    name = str(row["name"]) or "(root)"
    if row["kind"] == "function":
        name += "()"
    if int(row.get("call_index", 0)):
        name += f" #{int(row['call_index']) + 1}"
    if int(row.get("repeat", 1)) > 1:
        name += f" × {int(row['repeat'])}"
    return name


def node_type(graph: Graph, view_id: str) -> str:
    pos = row_position(view_id)
    if pos is None:
        pos = graph.groups[int(view_id[1:])][0]
    return str(graph.rows[pos]["type"])
