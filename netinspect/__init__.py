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
    "find_sizes",
    "inspect_checkpoint",
    "inspect_model",
    "summary",
]

if TYPE_CHECKING:
    from netinspect.api import compare_reports, find_sizes, inspect_model
    from netinspect.compare.diff import ReportDiff
    from netinspect.pipeline.checkpoint import inspect_checkpoint
    from netinspect.records import InspectionReport
    from netinspect.sources.build import build_model
    from netinspect.torchinfo_api import summary

# Public name -> the module that defines it (imported on first use).
_LAZY = {
    "inspect_model": "netinspect.api",
    "summary": "netinspect.torchinfo_api",
    "find_sizes": "netinspect.api",
    "inspect_checkpoint": "netinspect.pipeline.checkpoint",
    "build_model": "netinspect.sources.build",
    "InspectionReport": "netinspect.records",
    "compare_reports": "netinspect.api",
    "ReportDiff": "netinspect.compare.diff",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netinspect' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
