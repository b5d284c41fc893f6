"""Where a row was called from: ``package/path.py:LINE``, never absolute."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from types import CodeType, FrameType

import torch

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
# Our hooks' own frames are skipped; reaching the inspector (which calls model(...)) means no
# model code made the call, so the root module's row has no call site.
_CAPTURE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_DRIVER_DIR = os.path.join(os.path.dirname(_CAPTURE_DIR.rstrip(os.sep)), "pipeline") + os.sep
# torch_compat's function modes (meta_conv) sit between the model and torch: never the model.
_COMPAT_DIR = os.path.join(os.path.dirname(_CAPTURE_DIR.rstrip(os.sep)), "torch_compat") + os.sep


def relative_source(filename: str, lineno: int) -> str:
    """``package/relative/path.py:LINE``: relative to the directory that holds the file's
    top-level package (``torchvision/models/vgg.py``); a file outside any package is relative
    to the current directory (``net.py``, ``../models/net.py``). Never absolute."""
    return f"{_relative_path(filename, os.getcwd())}:{lineno}"


@functools.lru_cache(maxsize=1024)
def _relative_path(filename: str, cwd: str) -> str:
    # Cached: every row asks, and models make thousands of calls from a handful of files.
    path = os.path.abspath(filename)
    top = None
    directory = os.path.dirname(path)
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        top = directory
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if top is not None:
        rel = os.path.relpath(path, os.path.dirname(top))
    else:
        try:
            rel = os.path.relpath(path, cwd)
        except ValueError:  # another drive (Windows): the name is all that is relative
            rel = os.path.basename(path)
    return rel.replace(os.sep, "/")


KnownSources = Mapping[int, tuple[CodeType, str | None]]


def caller_outside_torch(frame: FrameType | None, known: KnownSources | None = None) -> str | None:
    """The first frame that is not torch's own code: the model line that made the call.

    ``known`` maps frames still running (by id, with their code to tell a reused id apart) to
    the answer a walk from them gave: a walk that reaches one stops there. Without it, modules
    nested in torch containers walk every container's frames again, and a 1000-deep
    ``Sequential`` costs half a million frame visits."""
    while frame is not None:
        if known is not None:
            hit = known.get(id(frame))
            if hit is not None and hit[0] is frame.f_code:
                return hit[1]
        filename = frame.f_code.co_filename
        if filename.startswith(_DRIVER_DIR):
            return None
        if not filename.startswith((_CAPTURE_DIR, _TORCH_DIR, _COMPAT_DIR)):
            return relative_source(filename, frame.f_lineno)
        frame = frame.f_back
    return None
