"""Dummy inputs from ``--input`` specs (or the caller's real tensors), checked against forward()."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netinspect.capture.tensors import (
    dtype_name,
    shape_of,
    tensor_leaves,
)
from netinspect.errors import (
    UsageError,
)
from netinspect.pipeline.device import _torch_dtype
from netinspect.records import (
    InputRecord,
)
from netinspect.specs import InputSpec, TensorSpec, parse_dtype

InputsArg = Sequence[str] | torch.Tensor | Sequence[torch.Tensor] | Mapping[str, Any] | None


@dataclass(frozen=True)
class _Prepared:
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    records: tuple[InputRecord, ...]


def _make_tensor(spec: TensorSpec, device: torch.device, float_dtype: torch.dtype) -> torch.Tensor:
    dtype = _torch_dtype(spec.dtype) if spec.dtype else float_dtype
    # Zeros: valid indices for embeddings, cheap (calloc) on real devices, no RNG state used.
    # Ones where the spec asks (an attention mask that shows every token).
    make = torch.ones if spec.fill == "ones" else torch.zeros
    return make(spec.shape, dtype=dtype, device=device)


def _prepare_inputs(
    inputs: InputsArg,
    specs: tuple[InputSpec, ...] | None,
    device: torch.device,
    float_dtype: torch.dtype,
) -> _Prepared:
    if specs is not None:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        records: list[InputRecord] = []
        for i, spec in enumerate(specs):
            label = spec.name or f"input{i}"
            value: Any
            if isinstance(spec.value, tuple):
                value = [_make_tensor(t, device, float_dtype) for t in spec.value]
                records += [
                    InputRecord(f"{label}[{j}]", t.shape, t.dtype or dtype_name(float_dtype))
                    for j, t in enumerate(spec.value)
                ]
            else:
                value = _make_tensor(spec.value, device, float_dtype)
                records.append(InputRecord(label, spec.value.shape, dtype_name(value.dtype)))
            if spec.name:
                kwargs[spec.name] = value
            else:
                args.append(value)
        return _Prepared(tuple(args), kwargs, tuple(records))
    # Real tensors from the Python API.
    if isinstance(inputs, torch.Tensor):
        pos: tuple[Any, ...] = (inputs,)
        kw: dict[str, Any] = {}
    elif isinstance(inputs, Mapping):
        pos, kw = (), dict(inputs)
    else:
        pos, kw = tuple(inputs or ()), {}
    recs = [
        InputRecord(f"input{i}", shape_of(t), dtype_name(t.dtype))
        for i, t in enumerate(tensor_leaves(pos))
    ] + [
        InputRecord(k, shape_of(t), dtype_name(t.dtype))
        for k, v in kw.items()
        for t in tensor_leaves(v)
    ]
    return _Prepared(pos, kw, tuple(recs))


def check_forward_arguments(model: nn.Module, prepared: _Prepared) -> None:
    """Keyword inputs and --arg names that forward() cannot take are usage errors, found
    before the pass rather than blamed on the model."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # a builtin or C forward: nothing to check against
        return
    kinds = inspect.Parameter
    if any(p.kind is kinds.VAR_KEYWORD for p in params.values()):
        return
    named = [
        n for n, p in params.items() if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
    ]
    has_var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params.values())
    positional = [n for n, p in params.items() if p.kind is not kinds.KEYWORD_ONLY]
    taken = set(positional[: len(prepared.args)]) if not has_var_positional else set()
    owner = f"{type(model).__name__}.forward"
    for key in prepared.kwargs:
        if key not in named:
            close = difflib.get_close_matches(key, named, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"{owner} has no argument {key!r}{hint}; it takes: {', '.join(named) or 'nothing'}"
            )
        if key in taken:
            raise UsageError(f"{owner} gets {key!r} twice: as a positional input and by name")


def parse_dtype_arg(text: str) -> str:
    try:
        return parse_dtype(text)
    except ValueError as exc:
        raise UsageError(f"--dtype: {exc}") from None
