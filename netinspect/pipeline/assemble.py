"""From a captured pass to the report: totals, costs, the error record, the environment."""

from __future__ import annotations

import dataclasses
import functools
import platform
from typing import Any

import torch
from torch import nn

from netinspect import __version__
from netinspect.analysis.diagnose import diagnose_failure
from netinspect.analysis.upsampling import upsampling_notes
from netinspect.capture.hooks import CallCapture
from netinspect.capture.tensors import (
    dtype_name,
    is_trainable,
    is_uninitialized,
    named_tensor_leaves,
    non_tensor_leaves,
    shape_of,
    weight_tensors,
)
from netinspect.errors import exception_text
from netinspect.pipeline.batch import locate_flatten
from netinspect.pipeline.inputs import _Prepared
from netinspect.pipeline.request import PassResult, Request
from netinspect.records import (
    ErrorRecord,
    InputRecord,
    InspectionReport,
    LayerRecord,
    ModelInfo,
    Totals,
)


def count_parameters(model: nn.Module) -> Totals:
    """Unique weight tensors: parameters (tied ones once) and quantized modules' packed weights.
    A lazy module's parameters count once its first call has materialised them."""
    params = trainable = nbytes = 0
    by_dtype: dict[str, int] = {}
    for key, p in weight_tensors(model, recurse=True):
        if is_uninitialized(p):
            continue
        n = p.numel()
        params += n
        if is_trainable(key, p):
            trainable += n
        size = n * p.element_size()
        nbytes += size
        key = dtype_name(p.dtype)
        by_dtype[key] = by_dtype.get(key, 0) + size
    return Totals(
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        param_bytes=nbytes,
        param_bytes_by_dtype=by_dtype,
    )


def _cost_totals(
    model: nn.Module, capture: CallCapture, layers: tuple[LayerRecord, ...]
) -> dict[str, Any]:
    """FLOPs/MACs and memory totals: row sums, so they agree with the rows at every depth."""
    buffer_bytes = sum(
        b.numel() * b.element_size() for b in model.buffers() if not is_uninitialized(b)
    )
    activation_bytes = sum(r.activation_bytes for r in layers)
    return {
        "flops": sum(r.flops for r in layers) + capture.unattributed_flops,
        "macs": sum(r.macs for r in layers) + capture.unattributed_macs,
        "matmul_flops": sum(r.matmul_flops for r in layers) + capture.unattributed_matmul_flops,
        "flops_partial": bool(capture.uncounted_ops),
        "uncounted_ops": tuple(sorted(capture.uncounted_ops)),
        "buffer_bytes": buffer_bytes,
        "activation_bytes": activation_bytes,
    }


def _error_record(
    layers: tuple[LayerRecord, ...],
    result: PassResult,
    param_dtype: str,
    device: str,
    inputs: tuple[InputRecord, ...] = (),
) -> ErrorRecord:
    exc = result.exception
    assert exc is not None
    text = exception_text(exc).strip()
    failure = result.capture.failure
    row = layers[failure.row_index] if failure is not None else None
    diagnosis = diagnose_failure(
        layers,
        row.index if row else None,
        type(exc).__name__,
        text,
        param_dtype=param_dtype,
        device=device,
        inputs=inputs,
    )
    if result.failure_message is not None:
        # The device policy ran out of ways past a meta limit: its words, not a guess.
        diagnosis = dataclasses.replace(diagnosis, message=result.failure_message, hint=None)
    return ErrorRecord(
        layer_index=row.index if row else None,
        name=row.name if row else None,
        kind=row.kind if row else None,
        type=row.type if row else None,
        source=row.source if row else None,
        input_shapes=row.input_shapes if row else (),
        expected=diagnosis.expected,
        message=diagnosis.message,
        hint=diagnosis.hint,
        exception_type=type(exc).__name__,
        exception_message=text,
    )


@functools.cache
def _installed_version(distribution: str) -> str | None:
    # Cached: importlib.metadata scans every installed distribution, milliseconds a call.
    try:
        from importlib.metadata import version

        return version(distribution)
    except Exception:
        return None


def _environment(device: torch.device) -> dict[str, str]:
    env = {"python": platform.python_version(), "torch": torch.__version__}
    torchvision_version = _installed_version("torchvision")
    if torchvision_version is not None:
        env["torchvision"] = torchvision_version
    if device.type == "cuda":
        env["cuda_device"] = torch.cuda.get_device_name(device)
    return env


def assemble_report(
    request: Request,
    model: nn.Module,
    prepared: _Prepared,
    result: PassResult,
) -> InspectionReport:
    """Step 6: rows, outputs, totals, notes, the flatten point (``pipeline.batch``: it may run
    a second pass) and (after a failure) the error record."""
    layers = result.capture.records()
    named_outputs = list(named_tensor_leaves(result.output))
    report_outputs = tuple(shape_of(t) for _, t in named_outputs)
    counted = count_parameters(model)
    totals = dataclasses.replace(
        counted,
        uncalled_params=counted.params - sum(r.params for r in layers),
        **_cost_totals(model, result.capture, layers),
    )
    notes = request.notes
    if result.exception is None and not report_outputs:
        notes.append(
            f"the forward pass returned no tensor (it returned {type(result.output).__name__})"
        )
    elif result.exception is None:
        others = list(non_tensor_leaves(result.output))
        if others:
            shown = ", ".join(f"{path or 'output'} ({kind})" for path, kind in others[:6])
            more = f" and {len(others) - 6} more" if len(others) > 6 else ""
            notes.append(
                f"the output also holds values that are not tensors (not in outputs): {shown}{more}"
            )
    lazy = []
    if any(is_uninitialized(t) for t in result.capture.lazy_weights):
        lazy = [name for name, p in model.named_parameters() if is_uninitialized(p)]
    if lazy:
        notes.append(
            f"{len(lazy)} parameters of lazy modules were never materialised (the pass did not "
            f"reach them), so they are not counted: {', '.join(lazy[:3])}"
            + (" ..." if len(lazy) > 3 else "")
        )
    notes.extend(upsampling_notes(layers))
    if totals.uncalled_params and result.exception is None:
        # After a failure the modules past it were never reached: no news there.
        notes.append(
            f"{totals.uncalled_params:,} parameters belong to modules the forward pass never called"
        )
    dev = request.device
    error = None
    if result.exception is not None:
        error = _error_record(
            layers, result, dtype_name(request.float_dtype), dev.type, prepared.records
        )
    failure = result.capture.failure
    failed_at = None
    if result.exception is not None and layers:
        failed_at = layers[failure.row_index] if failure is not None else layers[0]
    flatten, flatten_search = locate_flatten(
        request,
        model,
        result,
        layers,
        {
            "outputs": report_outputs,
            "output_names": tuple(name for name, _ in named_outputs),
            "tensors": [t for _, t in named_outputs],
        },
        failed_at,
    )
    if result.exception is not None and not layers:
        reason = "not reached: the forward failed before any layer ran"
        flatten_search = dataclasses.replace(flatten_search, absent_reason=reason)
    return InspectionReport(
        weights=request.weights_report,
        model=ModelInfo(
            name=request.target.name,
            source=request.target.source,
            class_name=type(model).__name__,
            description=request.target.description,
        ),
        device=str(dev),
        dtype=dtype_name(request.float_dtype),
        inputs=prepared.records,
        layers=layers,
        flatten=flatten,
        flatten_search=flatten_search,
        outputs=report_outputs,
        output_names=tuple(name for name, _ in named_outputs),
        data_dependent_outputs=tuple(
            i for i, (_, t) in enumerate(named_outputs) if result.bridge.is_data_dependent(t)
        ),
        totals=totals,
        netinspect_version=__version__,
        notes=tuple(notes),
        environment=_environment(dev),
        error=error,
    )
