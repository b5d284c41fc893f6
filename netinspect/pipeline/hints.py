"""A hint's minimum input must itself run.

A window failure (alexnet on 16×16: a 3×3 pool meets a 1×1 map) knows the smallest model input
that gets the failing layer its window, walking back through the convs and pools that ran. The
layers after it were never reached and may need more: alexnet's first pool needs 31×31, its last
one 63×63. So after such a failure the model is run again on meta at that size, and at the next
minimum each new failure names, until a size passes: the hint then names a size that runs.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import torch

from netinspect.analysis.diagnose import diagnose_failure
from netinspect.analysis.diagnose.layers import window_hint
from netinspect.errors import exception_text
from netinspect.pipeline.request import PassResult, Request
from netinspect.records import InspectionReport, Shape
from netinspect.specs import InputSpec, TensorSpec, int_shape

# Each try is a meta pass (milliseconds); a chain of pools rarely needs more than a few.
_MAX_TRIES = 8


def confirm_min_input(
    request: Request, report: InspectionReport, run_on_meta: Callable[[Request], PassResult]
) -> InspectionReport:
    """``report`` with its window hint rewritten to name the smallest input that was run and
    passed; unchanged when the failure names no minimum or none could be confirmed.
    ``run_on_meta`` runs the model once on meta with a request's inputs (the pipeline's
    capture step, passed in so that this module stays below it)."""
    error = report.error
    meta = torch.device("meta")
    if error is None or error.layer_index is None or request.device != meta:
        return report
    specs = request.specs
    if not specs or not isinstance(specs[0].value, TensorSpec):
        return report
    reaching = diagnose_failure(
        report.layers,
        error.layer_index,
        error.exception_type,
        error.exception_message,
        param_dtype=report.dtype,
        device="meta",
    ).min_input
    base = int_shape(specs[0].value)
    if reaching is None or len(base) < len(reaching) or not error.input_shapes:
        return report
    spatial = len(reaching)
    size: Shape = reaching
    for _ in range(_MAX_TRIES):
        trial = copy.copy(request)
        trial.specs = _resized(specs, base, (*base[:-spatial], *size))
        result = run_on_meta(trial)
        if result.exception is None:
            hint = window_hint(base[-spatial:], error.input_shapes[0][-spatial:], reaching, size)
            return dataclasses.replace(report, error=dataclasses.replace(error, hint=hint))
        failure = result.capture.failure
        if failure is None:
            break
        layers = result.capture.records()
        needed = diagnose_failure(
            layers,
            layers[failure.row_index].index,
            type(result.exception).__name__,
            exception_text(result.exception),
            device="meta",
        ).min_input
        if needed is None or len(needed) != spatial:
            break
        grown = tuple(max(a, b) for a, b in zip(size, needed, strict=True))
        if grown == size:
            break
        size = grown
    return report


def _resized(specs: tuple[InputSpec, ...], old: Shape, new: Shape) -> tuple[InputSpec, ...]:
    """Every tensor input shaped like the first takes the new shape (two images must match)."""
    return tuple(
        InputSpec(s.name, TensorSpec(new, s.value.dtype))
        if isinstance(s.value, TensorSpec) and s.value.shape == old
        else s
        for s in specs
    )
