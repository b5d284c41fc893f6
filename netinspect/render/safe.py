"""Text from models, configs and saved files, made safe to print on a terminal.

A config's ``name:``, a layer's class name, an exception message or a hostile report file can
hold escape sequences (``ESC ]0;title BEL`` retitles the terminal, ``ESC [2J`` clears it) or
bidirectional overrides that reorder what is shown. Every renderer that prints such text
writes those characters as visible escapes (``\\x1b``, ``\\u202e``) instead. Newlines are kept:
renderers decide where a value may span lines. JSON keeps the data exact and escapes them the
JSON way (``\\u001b``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, TypeVar

# C0 controls but newline, DEL, C1 controls, and the invisible marks and overrides that
# reorder text (Trojan Source: U+202A-202E, U+2066-2069, LRM/RLM, ALM).
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

T = TypeVar("T")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with control and bidi characters written as visible escapes; with
    ``one_line`` newlines too (for one-line messages)."""
    if one_line and "\n" in text:
        text = text.replace("\n", "\\n")
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def printable_json(text: str) -> str:
    """A JSON document with the characters JSON leaves raw (C1 controls, bidi overrides)
    escaped as ``\\uXXXX``: the same data, harmless when printed."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def printable_records(value: T) -> T:
    """A copy of records (frozen dataclasses, tuples, dicts) with every string made
    ``printable``; objects with nothing to escape are returned as they are."""
    return _walk(value)  # type: ignore[no-any-return]


_SCALARS = (int, float, bool, type(None))


def _walk(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, tuple):
        if all(type(v) in _SCALARS for v in value):
            return value  # a shape
        items = tuple(_walk(v) for v in value)
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(*items) if hasattr(value, "_fields") else items
    if isinstance(value, list):
        walked = [_walk(v) for v in value]
        return value if all(a is b for a, b in zip(walked, value, strict=True)) else walked
    if isinstance(value, dict):
        pairs = [(_walk(k), _walk(v)) for k, v in value.items()]
        same = all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name in _init_fields(type(value)):
            old = getattr(value, name)
            new = _walk(old)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def markdown_text(text: str) -> str:
    """Text for a Markdown table cell or line, from a model or a file: on one line, with the
    characters HTML gives meaning to written as entities (Markdown passes raw HTML through),
    and ``|`` escaped (it would end the cell)."""
    text = printable(text.replace("\r\n", "\n"), one_line=True)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def markdown_code(text: str) -> str:
    """``text`` as a Markdown code span: the fence is one backtick longer than the longest run
    inside (a backtick in a name cannot end the span early), on one line, ``|`` escaped."""
    text = printable(text.replace("\r\n", "\n"), one_line=True).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def mermaid_label(text: str) -> str:
    """The inside of a quoted Mermaid label: one line (a newline would end the statement and
    start another), quotes and markup characters as Mermaid's entity codes."""
    text = printable(text.replace("\r\n", "\n"), one_line=True)
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text
