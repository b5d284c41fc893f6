"""Why a forward pass failed, in words: what the failing layer expected and one concrete fix.

Pure functions of the rows that ran (no torch). The diagnosis is built from shapes, dtypes and
module attributes, never by parsing torch's error text: that text differs between devices
(on meta a Linear mismatch reads "a and b must have same reduction dim").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netinspect.analysis.diagnose.common import (
    _BROADCAST_OPS,
    _JOIN_OPS,
    Diagnosis,
    _is_floating,
    _label,
    clip_text,
    op_name,
)
from netinspect.analysis.diagnose.inputs import (
    _diagnose_dtype,
    _diagnose_missing_batch,
    _diagnose_sequence_input,
    _diagnose_token_ids,
)
from netinspect.analysis.diagnose.layers import (
    _diagnose_conv,
    _diagnose_linear,
    _diagnose_norm,
    _diagnose_window,
)
from netinspect.analysis.diagnose.operands import (
    _diagnose_broadcast,
    _diagnose_join,
    _diagnose_matmul,
)
from netinspect.records import (
    InputRecord,
    LayerRecord,
)

# --- entry point ---------------------------------------------------------------------------

_MODULE_RULES: tuple[Callable[[Sequence[LayerRecord], LayerRecord], Diagnosis | None], ...] = (
    _diagnose_linear,
    _diagnose_conv,
    _diagnose_norm,
    _diagnose_window,
)


def diagnose_failure(
    layers: Sequence[LayerRecord],
    row_index: int | None,
    exception_type: str,
    exception_message: str,
    *,
    param_dtype: str | None = None,
    device: str | None = None,
    inputs: Sequence[InputRecord] = (),
) -> Diagnosis:
    """Explain the failure at ``layers[row_index]`` (the innermost row that raised).

    A list fed to a one-tensor layer is looked for first, then shape problems, then a dtype
    problem. When nothing is recognised the message is the row and torch's first line. (Ops
    the meta device cannot run never reach here as the model's error: the device policy in
    ``pipeline.device`` gets past them or says so in its own words.)
    """
    text = exception_message.strip()
    first = clip_text(text.splitlines()[0]) if text else exception_type
    row = layers[row_index] if row_index is not None and 0 <= row_index < len(layers) else None
    if exception_type == "SystemExit":
        # Not an error torch raised: the model's code asked the process to end.
        where = _label(row) if row is not None else "the forward pass"
        return Diagnosis(None, f"{where} called sys.exit({clip_text(text)})", None)
    # A sample without its batch dim fails far downstream (a BatchNorm reads H as channels);
    # the cause is the input, whatever row raised.
    missing_batch = _diagnose_missing_batch(layers)
    if missing_batch is not None:
        return missing_batch
    if row is None:
        return Diagnosis(None, first, None)
    fallback = Diagnosis(None, f"{_label(row)} raised {exception_type}: {first}", None)
    found: Diagnosis | None = _diagnose_token_ids(row, inputs)
    if found is not None:
        return found
    if row.kind == "function":
        op = op_name(row)
        if op in _BROADCAST_OPS:
            found = _diagnose_broadcast(layers, row, _BROADCAST_OPS[op])
        elif op in _JOIN_OPS:
            found = _diagnose_join(layers, row)
        elif op in ("matmul", "mm", "bmm", "__matmul__", "__rmatmul__", "linear"):
            found = _diagnose_matmul(row)
    else:
        found = _diagnose_sequence_input(row, exception_type, text)
        # A wrong dtype of integer input is fatal whatever the shapes are; report it first.
        if found is None and row.input_dtypes and not _is_floating(row.input_dtypes[0]):
            found = _diagnose_dtype(row, param_dtype)
        for rule in _MODULE_RULES:
            if found is not None:
                break
            found = rule(layers, row)
        if found is None:
            found = _diagnose_dtype(row, param_dtype)
    return found or fallback
