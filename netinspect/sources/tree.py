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
from typing import TYPE_CHECKING, Any

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
    """Levels below ``model`` (0 for a leaf), found without recursion: the longest chain of
    children. A module reachable twice (shared) counts at its deepest; a module that is its
    own ancestor (``add_module("again", self)``, A -> B -> A) is a cycle, which torch's
    ``named_modules`` walks once by identity, and so does this (the edge back is not followed)."""
    return _walk(model)[0]


def has_module_cycle(model: nn.Module) -> bool:
    """Whether a module is its own ancestor in ``model``'s tree. torch's recursive walks
    without a memo (``train``/``eval``, ``.to()``, ``apply``) never end on such a tree."""
    return _walk(model)[1]


def _walk(model: nn.Module) -> tuple[int, bool]:
    """(depth, has a cycle). Depth-first with an explicit stack; each module's height is kept
    once known, so a shared module is walked once. Stops past ``MAX_TREE_DEPTH``."""
    height: dict[int, int] = {}
    on_path = {id(model)}
    # Frames: [module, its children still to visit, tallest child height + 1 so far].
    stack: list[list[Any]] = [[model, iter(_children(model)), 0]]
    cycle = False
    while stack:
        frame = stack[-1]
        child = next(frame[1], None)
        if child is None:
            stack.pop()
            on_path.discard(id(frame[0]))
            height[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] = max(stack[-1][2], frame[2] + 1)
            continue
        if id(child) in on_path:
            cycle = True
        elif id(child) in height:
            frame[2] = max(frame[2], height[id(child)] + 1)
        elif len(stack) > MAX_TREE_DEPTH:
            return len(stack), cycle  # deep enough to refuse; no need to walk the rest
        else:
            on_path.add(id(child))
            stack.append([child, iter(_children(child)), 0])
    return height[id(model)], cycle


def _children(module: nn.Module) -> list[nn.Module]:
    return [m for m in module._modules.values() if m is not None]


def set_eval_mode(model: nn.Module) -> None:
    """``model.eval()``, or, on a tree with a cycle (where ``eval`` would recurse forever),
    ``training = False`` on each module that ``modules()`` lists once by identity."""
    if not has_module_cycle(model):
        model.eval()
        return
    for module in model.modules():
        module.training = False


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
