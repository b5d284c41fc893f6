"""How deep a module tree nests, and room on Python's stack to inspect it.

torch walks a module tree recursively (``named_modules``, ``train``, ``state_dict``, a
forward through nested containers), and a hooked forward pass takes about twice the Python
frames per level that a plain one does: at the default recursion limit of 1000, plain torch
runs a 240-deep ``Sequential`` and an inspection of it would fail at about 165 levels. So the
limit is raised for the inspection of a deep tree, by what its depth needs, and restored
afterwards. Trees deeper than ``MAX_TREE_DEPTH`` are refused up front: no real architecture
nests that deep, and beyond it the time and the stack grow with no useful report at the end.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from netinspect.errors import UsageError
from netinspect.torch_compat.frames import stack_depth

if TYPE_CHECKING:
    from torch import nn

MAX_TREE_DEPTH = 1000
# Python frames one nesting level may take: a hooked forward needs about 6 (measured), a deep
# copy of the module (``copy_to``) more; 12 leaves room for both.
_FRAMES_PER_LEVEL = 12
_SPARE_FRAMES = 500


def module_tree_depth(model: nn.Module) -> int:
    """Levels below ``model`` (0 for a leaf), found without recursion. A module reachable
    twice (shared) is walked once per path, as torch's own walks do."""
    deepest = 0
    stack: list[tuple[nn.Module, int]] = [(model, 0)]
    seen_on_path: set[tuple[int, int]] = set()
    while stack:
        module, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TREE_DEPTH:
            break  # deep enough to refuse; no need to walk the rest
        for child in module._modules.values():
            if child is not None and (id(child), depth + 1) not in seen_on_path:
                seen_on_path.add((id(child), depth + 1))
                stack.append((child, depth + 1))
    return deepest


def check_tree_depth(model: nn.Module, name: str) -> int:
    """The tree's depth; a usage error past ``MAX_TREE_DEPTH``."""
    depth = module_tree_depth(model)
    if depth > MAX_TREE_DEPTH:
        raise UsageError(
            f"{name} nests modules more than {MAX_TREE_DEPTH:,} levels deep; netinspect "
            f"inspects module trees up to {MAX_TREE_DEPTH:,} levels"
        )
    return depth


def make_recursion_room(model: nn.Module, name: str) -> None:
    """Check the tree's depth and raise the recursion limit to what walking it needs (never
    lowered here: ``restoring_recursion_limit`` puts the caller's limit back)."""
    depth = check_tree_depth(model, name)
    in_use = stack_depth()
    needed = in_use + _FRAMES_PER_LEVEL * depth + _SPARE_FRAMES
    if needed > sys.getrecursionlimit():
        sys.setrecursionlimit(needed)


@contextmanager
def restoring_recursion_limit() -> Iterator[None]:
    """Whatever ``make_recursion_room`` raises inside the block is undone at its end."""
    saved = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)
