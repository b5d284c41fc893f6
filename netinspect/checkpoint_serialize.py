"""Checkpoint records -> plain dicts (the JSON API of ``netinspect FILE`` and of the
``weights`` key of an inspection report). Key order here is the order users see."""

from __future__ import annotations

from collections import Counter
from typing import Any

from netinspect.checkpoint_records import (
    LOADED,
    WEIGHT_STATUSES,
    ArchitectureMatch,
    CheckpointReport,
    TensorChange,
    TensorEntry,
    WeightsReport,
)


def _shape(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def tensor_to_dict(t: TensorEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": t.key,
        "shape": list(t.shape),
        "dtype": t.dtype,
        "numel": t.numel,
        "bytes": t.nbytes,
    }
    if t.shard is not None:
        out["shard"] = t.shard
    return out


def change_to_dict(c: TensorChange) -> dict[str, Any]:
    return {
        "key": c.key,
        "status": c.status,
        "shape_a": _shape(c.shape_a),
        "shape_b": _shape(c.shape_b),
        "dtype_a": c.dtype_a,
        "dtype_b": c.dtype_b,
    }


def match_to_dict(m: ArchitectureMatch | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "source": m.source,
        "name": m.name,
        "description": m.description,
        "matching": m.matching,
        "total": m.total,
        "differences": [change_to_dict(c) for c in m.differences],
    }


def dtype_totals(tensors: tuple[TensorEntry, ...]) -> dict[str, dict[str, int]]:
    """Tensors, elements and bytes per dtype, largest first."""
    totals: dict[str, dict[str, int]] = {}
    for t in tensors:
        row = totals.setdefault(t.dtype, {"tensors": 0, "numel": 0, "bytes": 0})
        row["tensors"] += 1
        row["numel"] += t.numel
        row["bytes"] += t.nbytes
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1]["bytes"], kv[0])))


def checkpoint_to_dict(report: CheckpointReport) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "netinspect_version": report.netinspect_version,
        "kind": "checkpoint",
        "path": report.path,
        "format": report.format,
        "files": list(report.files),
        "unwrapped": list(report.unwrapped),
        "totals": {
            "tensors": len(report.tensors),
            "numel": sum(t.numel for t in report.tensors),
            "bytes": sum(t.nbytes for t in report.tensors),
            "by_dtype": dtype_totals(report.tensors),
        },
        "architecture": match_to_dict(report.architecture),
        "searched": list(report.searched),
        "config": dict(report.config),
        "metadata": dict(report.metadata),
        "notes": list(report.notes),
        "tensors": [tensor_to_dict(t) for t in report.tensors],
    }


def weight_counts(report: WeightsReport) -> dict[str, int]:
    counts = Counter(r.status for r in report.rows)
    return {status: counts.get(status, 0) for status in WEIGHT_STATUSES}


def weights_to_dict(report: WeightsReport) -> dict[str, Any]:
    counts = weight_counts(report)
    return {
        "path": report.path,
        "model_tensors": sum(1 for r in report.rows if r.model_shape is not None),
        "matching": counts[LOADED],
        "counts": counts,
        "stripped_prefix": report.stripped_prefix,
        "unwrapped": list(report.unwrapped),
        "partial": report.is_partial,
        "values_loaded": report.values_loaded,
        "random_init": list(report.random_init),
        "notes": list(report.notes),
        "rows": [
            {
                "key": r.key,
                "status": r.status,
                "checkpoint_key": r.checkpoint_key,
                "checkpoint_shape": _shape(r.checkpoint_shape),
                "checkpoint_dtype": r.checkpoint_dtype,
                "model_shape": _shape(r.model_shape),
                "model_dtype": r.model_dtype,
            }
            for r in report.rows
        ],
    }
