"""``compare_reports``: either side a report, a report dict, or a saved report or baseline file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netinspect.compare.baseline import BASELINE_KIND, json_error_text, parse_baseline
from netinspect.compare.diff import (
    ReportDiff,
    _layer_view,
    _report_level_changes,
    align_layers,
    comparable_view,
    flatten_name,
)
from netinspect.deserialize import report_from_dict
from netinspect.errors import (
    UsageError,
)
from netinspect.fileio import (
    MAX_JSON_STRING_CHARS,
    JsonTooComplex,
    check_json_file_size,
    check_report_size,
    parse_json,
)
from netinspect.records import (
    SCHEMA_VERSION,
    InspectionReport,
)
from netinspect.schema import load_schema, report_schema
from netinspect.schema.validate import SchemaMismatch, check_against

ReportSource = InspectionReport | Mapping[str, Any] | str | os.PathLike[str]


def _load_side(source: ReportSource, which: str) -> dict[str, Any]:
    if isinstance(source, (str, os.PathLike)):
        # Lazy: baseline imports this module.
        from netinspect.compare.reports import read_comparable_json

        return read_comparable_json(source)
    if not isinstance(source, (InspectionReport, Mapping)):
        raise TypeError(
            f"compare_reports: {which} must be an InspectionReport, a report dict, or the path "
            f"of a saved report / baseline JSON, not {type(source).__name__}"
        )
    return comparable_view(source)


def compare_reports(
    old: ReportSource,
    new: ReportSource,
    *,
    old_label: str | None = None,
    new_label: str | None = None,
) -> ReportDiff:
    """Compare two reports layer by layer. Each side is an ``InspectionReport``, a report dict
    (``--format json``), a comparable view, or a ``str``/``Path`` of a saved report JSON or a
    baseline file (read with ``baseline.read_comparable_json``; a path is the default label).
    Other types raise TypeError; an unreadable file raises UsageError."""
    old_view, new_view = _load_side(old, "old"), _load_side(new, "new")
    if old_label is None:
        old_label = os.fspath(old) if isinstance(old, (str, os.PathLike)) else "old"
    if new_label is None:
        new_label = os.fspath(new) if isinstance(new, (str, os.PathLike)) else "new"
    rows = align_layers(
        [_layer_view(r) for r in old_view["layers"]], [_layer_view(r) for r in new_view["layers"]]
    )
    return ReportDiff(
        old_label=old_label,
        new_label=new_label,
        rows=rows,
        changes=tuple(_report_level_changes(old_view, new_view)),
        old_flatten=flatten_name(old_view),
        new_flatten=flatten_name(new_view),
    )


def _load_json(path: str | os.PathLike[str]) -> Any:
    """A JSON file within ``fileio.parse_json``'s limits (depth, digits); UsageError if not."""
    try:
        check_json_file_size(os.stat(path).st_size)
        return parse_json(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({json_error_text(exc)})") from None
    except JsonTooComplex as exc:
        raise UsageError(f"{path}: refused: {exc}") from None


def _check_version(data: Any, path: str | os.PathLike[str]) -> None:
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise UsageError(
            f"{path} is a report of a newer netinspect (schema_version {version}; this version "
            f"reads up to {SCHEMA_VERSION})"
        )


def _check_report_schema(data: Any, path: str | os.PathLike[str]) -> None:
    """A saved report must fit the published report schema: a ``1.5`` in a shape or a
    ``"name": 5`` is a corrupt file (exit 2), not something to truncate or to compare. A bare
    comparable view (what a baseline's ``report`` holds) fits the baseline schema's view."""
    schema = report_schema()
    if isinstance(data, dict) and "schema_version" not in data:
        baseline = load_schema("baseline")
        schema = {"$defs": baseline["$defs"], "$ref": "#/$defs/view"}
    try:
        check_report_size(data)
        check_against(data, schema, max_string=MAX_JSON_STRING_CHARS)
    except JsonTooComplex as exc:
        raise UsageError(f"{path}: refused: {exc}") from None
    except SchemaMismatch as exc:
        raise UsageError(f"{path}: corrupt report: {exc}") from None


def read_report_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A whole saved report (``-f json -o r.json``) as its dict, for rendering it again.
    Anything else (a baseline, a diff, a newer or incomplete report) raises UsageError."""
    data = _load_json(path)
    if isinstance(data, dict) and data.get("kind") == BASELINE_KIND:
        raise UsageError(
            f"{path} is a baseline, which keeps only what check compares; render a saved report "
            "(netinspect MODEL -f json -o report.json)"
        )
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise UsageError(
            f"{path} is not a netinspect report (make one with: netinspect MODEL -f json -o FILE)"
        )
    _check_version(data, path)
    _check_report_schema(data, path)
    try:
        # The picture formats read the dict as it is, but only a whole report renders at all.
        report_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{path} is not a complete netinspect report ({type(exc).__name__}: {exc})"
        ) from None
    return data


def read_comparable_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The comparable view of a saved report (``-f json -o r.json``) or of a baseline file."""
    data = _load_json(path)
    if isinstance(data, dict) and data.get("kind") == BASELINE_KIND:
        return dict(parse_baseline(data, path).view)
    _check_version(data, path)
    if isinstance(data, dict) and isinstance(data.get("layers"), list):
        _check_report_schema(data, path)
    try:
        return comparable_view(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(
            f"{path} is neither a netinspect report (--format json) nor a baseline"
        ) from None
