"""Frame walking: the model's own line for a row or a guard, and the stack's depth.

Checked on torch 2.4.1, 2.9.1 and 2.14.1 (CPython 3.10, 3.11).

``sys._getframe`` is CPython's (PyPy has it too). Feature test: whether ``sys`` has it. The
fallback is ``None``: rows then carry no call site (``source`` stays empty), which is never a
wrong answer, only a shorter one; the stack depth falls back to ``traceback``.
"""

from __future__ import annotations

import sys
import traceback
from types import FrameType

_GETFRAME = getattr(sys, "_getframe", None)


def caller_frame(depth: int = 1) -> FrameType | None:
    """The frame ``depth`` levels above the caller (1: the caller's caller), or None."""
    if _GETFRAME is None:
        return None
    try:
        frame: FrameType | None = _GETFRAME(depth + 1)
    except ValueError:  # the stack is not that deep
        return None
    return frame


def stack_depth() -> int:
    """How many frames are running now (the caller's included)."""
    frame = caller_frame(0)
    if frame is None:
        return len(traceback.extract_stack()) - 1
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth
