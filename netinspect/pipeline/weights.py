"""``--weights``: load a checkpoint into the built model and report each tensor's fate
(loaded / shape mismatch / missing in checkpoint / unexpected in checkpoint)."""

from __future__ import annotations

from torch import nn

from netinspect.analysis.tensor_sets import weight_rows
from netinspect.checkpoint_records import (
    LOADED,
    MISSING,
    SHAPE_MISMATCH,
    WeightRow,
    WeightsReport,
)
from netinspect.errors import WeightsMismatch
from netinspect.sources.weights import copy_into, is_on_meta, model_tensors, read_weights


def _random_init(rows: tuple[WeightRow, ...]) -> tuple[str, ...]:
    """Modules with a tensor the checkpoint did not fill: they keep their initialisation."""
    kept = (
        r.key.rpartition(".")[0] or r.key for r in rows if r.status in (MISSING, SHAPE_MISMATCH)
    )
    return tuple(dict.fromkeys(kept))


def load_weights(model: nn.Module, path: str, partial: bool = False) -> WeightsReport:
    """Load ``path`` into ``model`` and report each tensor's fate. On the meta device only
    names, shapes and dtypes are read (a safetensors header, a torch zip mapped onto meta).
    A mismatch raises ``WeightsMismatch`` (carrying the report) unless ``partial``: then what
    fits is loaded and the rest keeps the model's initialisation."""
    on_meta = is_on_meta(model)
    declared, state, unwrapped = read_weights(model, path)
    rows, prefix = weight_rows(model_tensors(model), declared)
    notes = []
    if prefix:
        notes.append(f"every key in {path} starts with {prefix!r}: stripped to meet the model's")
    report = WeightsReport(
        path=path,
        rows=rows,
        stripped_prefix=prefix or None,
        unwrapped=unwrapped,
        is_partial=partial,
        values_loaded=not on_meta,
        random_init=_random_init(rows) if partial else (),
        notes=tuple(notes),
    )
    if not partial and any(r.status != LOADED for r in rows):
        raise WeightsMismatch(path, report)
    if not on_meta:
        fitting = {
            r.key: state[r.checkpoint_key]
            for r in rows
            if r.status == LOADED and r.checkpoint_key is not None
        }
        copy_into(model, fitting, path)
    return report
