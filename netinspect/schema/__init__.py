"""The JSON Schema of ``--format json`` (schema_version 1), shipped with the package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def report_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_schema(name: str) -> dict[str, Any]:
    """A shipped schema by file stem: ``report``, ``diff`` (``netinspect diff -f json``) or
    ``check`` (``netinspect check -f json``)."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
