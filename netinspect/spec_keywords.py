"""Dict-valued ``--input``: a dotted name (``batch.input_ids=1x128:int64``) places its tensor
in a dict under the name's first part (the ``--input`` grammar is in ``specs``)."""

from __future__ import annotations

from typing import Any

from netinspect.errors import InputSpecError


def place_keyword(kwargs: dict[str, Any], name: str, value: Any) -> None:
    """``kwargs[name] = value``; a dotted name (``batch.input_ids``) goes into a dict under its
    first part, nested by each further dot. Raises InputSpecError when a name is both a
    tensor and a dict (``batch=1x4`` with ``batch.ids=1x4``)."""
    *path, key = name.split(".")
    where = kwargs
    for depth, part in enumerate(path):
        inner = where.setdefault(part, {})
        if not isinstance(inner, dict):
            raise InputSpecError(name, f"{'.'.join(path[: depth + 1])} is a tensor, not a dict")
        where = inner
    if key in where:
        raise InputSpecError(name, "keyword input given twice, or both a tensor and a dict")
    where[key] = value
