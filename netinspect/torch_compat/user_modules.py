"""A user's ``file.py`` as a module in ``sys.modules`` while and after it runs.

Checked on CPython 3.10 and 3.11 (torch is not involved). This is the standard library's own
recipe (``importlib.util.module_from_spec``, then an entry in ``sys.modules`` so that the file's
classes pickle and its dataclasses resolve their module); it is fenced here because it writes
into ``sys.modules``, which only this package may do.
"""

from __future__ import annotations

import sys
from types import ModuleType


def register_module(name: str, module: ModuleType) -> None:
    """Make ``module`` importable as ``name`` (before its code runs, as ``import`` does)."""
    sys.modules[name] = module


def forget_module(name: str) -> None:
    """Take ``name`` out of ``sys.modules`` (its import failed)."""
    sys.modules.pop(name, None)
