"""How much memory a real pass needs, and the refusal of what cannot fit, before it runs."""

from __future__ import annotations

import torch
from torch import nn

from netinspect.capture.tensors import is_uninitialized
from netinspect.pipeline.assemble import count_parameters
from netinspect.pipeline.device import check_fits, spec_bytes
from netinspect.pipeline.request import PassResult, Request


def memory_needed(
    request: Request, meta_model: nn.Module | None, meta_pass: PassResult | None
) -> tuple[int, str]:
    """(bytes, what they are) for a real pass: parameters, buffers, the input, and twice the
    largest activation a layer allocates on the meta pass (its input and output are alive
    together; under no_grad earlier activations are freed)."""
    need = sum(
        spec_bytes(t, request.float_dtype)
        for s in request.specs or ()
        for t in (s.value if isinstance(s.value, tuple) else (s.value,))
    )
    what = "the dummy input"
    if meta_model is not None:
        need += count_parameters(meta_model).param_bytes
        need += sum(
            b.numel() * b.element_size() for b in meta_model.buffers() if not is_uninitialized(b)
        )
        what = "the model and its dummy input"
    if meta_pass is not None:
        largest = max((r.activation_bytes for r in meta_pass.capture.rows), default=0)
        need += 2 * largest
        what = "the model, its dummy input and its largest activations"
    return need, what


def check_memory(
    request: Request,
    device: torch.device,
    meta_model: nn.Module | None,
    meta_pass: PassResult | None,
) -> None:
    """Refuse up front what cannot fit (see ``memory_needed``)."""
    if device.type == "meta" or request.specs is None:
        return
    check_fits(device, *memory_needed(request, meta_model, meta_pass))
