"""Limits on hostile input that the parsers themselves do not have, in one place.

Each limit is far past anything a real project writes and far below what would make a parser
recurse to Python's recursion limit or run for minutes. ``docs/limits.md`` lists them.
"""

from __future__ import annotations

import re

# Brackets nested in an ``--arg`` value or in pyproject.toml: a real value nests 0-3 deep.
MAX_NESTING = 50
# pyproject.toml is read whole before [tool.netinspect] is looked at.
MAX_PYPROJECT_BYTES = 2 * 1024 * 1024
# A target (a model name, a path, ``file.py:Attr``), on the command line or in pyproject.
MAX_TARGET_CHARS = 1024

# TOML strings and comments hold brackets that are not nesting. Triple-quoted strings first.
_TOML_NOT_SYNTAX = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def is_nested_too_deep(text: str, *, toml: bool = False) -> bool:
    """Whether ``[``/``{`` nest more than ``MAX_NESTING`` deep in ``text`` (closers of either
    kind close; an unbalanced opening run counts too). With ``toml``, TOML strings and comments
    are left out first. Linear: the loop sees brackets only, and only past the cheap count."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    if toml:
        text = _TOML_NOT_SYNTAX.sub("", text)
    depth = 0
    for char in _NOT_BRACKET.sub("", text):
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        else:
            depth = max(0, depth - 1)
    return False


def check_target_length(target: str, where: str = "") -> None:
    """Refuse a target longer than ``MAX_TARGET_CHARS`` before it is used as a path or name
    (the file system's own limit would surface as an OSError from deep inside)."""
    if len(target) > MAX_TARGET_CHARS:
        from netinspect.errors import UsageError

        raise UsageError(
            f"{where}target of {len(target):,} characters refused "
            f"(the limit is {MAX_TARGET_CHARS:,}): {target[:40]}..."
        )
