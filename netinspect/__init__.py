"""netinspect: per-layer shapes, parameters and the flatten point of any PyTorch model.

The heavy entry points import torch lazily, so ``import netinspect`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "InspectionReport",
    "ReportDiff",
    "__version__",
    "build_model",
    "compare_reports",
    "inspect_model",
]

if TYPE_CHECKING:
    from netinspect.compare import ReportDiff, compare_reports
    from netinspect.inspector import build_model, inspect_model
    from netinspect.records import InspectionReport


def __getattr__(name: str) -> Any:
    if name == "inspect_model":
        from netinspect.inspector import inspect_model

        return inspect_model
    if name == "build_model":
        from netinspect.inspector import build_model

        return build_model
    if name == "InspectionReport":
        from netinspect.records import InspectionReport

        return InspectionReport
    if name in ("compare_reports", "ReportDiff"):
        from netinspect import compare

        return getattr(compare, name)
    raise AttributeError(f"module 'netinspect' has no attribute {name!r}")
