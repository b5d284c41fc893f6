"""Dummy inputs from ``--input`` specs (or the caller's real tensors), checked against forward()."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netinspect.capture.hooks import CallCapture
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
from netinspect.spec_keywords import place_keyword
from netinspect.specs import (
    InputSpec,
    TensorSpec,
    format_input_spec,
    int_shape,
    parse_dtype,
)

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
    return make(int_shape(spec), dtype=dtype, device=device)


def copied(value: Any, cast: torch.dtype | None) -> Any:
    """``value`` with every tensor in it (lists, tuples, dicts too) replaced by a copy, cast
    to ``cast`` when it is a floating tensor: the caller's own tensors are never handed to
    forward, so an in-place op there cannot change them."""
    if isinstance(value, torch.Tensor):
        copy = value.detach().clone()
        if cast is not None and copy.is_floating_point():
            copy = copy.to(cast)
        return copy
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(copied(v, cast) for v in value)
    if isinstance(value, dict):
        return {k: copied(v, cast) for k, v in value.items()}
    return value


def _prepare_inputs(
    inputs: InputsArg,
    specs: tuple[InputSpec, ...] | None,
    device: torch.device,
    float_dtype: torch.dtype,
    cast: torch.dtype | None = None,
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
                    InputRecord(f"{label}[{j}]", int_shape(t), t.dtype or dtype_name(float_dtype))
                    for j, t in enumerate(spec.value)
                ]
            else:
                value = _make_tensor(spec.value, device, float_dtype)
                records.append(InputRecord(label, int_shape(spec.value), dtype_name(value.dtype)))
            if spec.name:
                place_keyword(kwargs, spec.name, value)
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
    # Copies, cast like the parameters when a dtype was asked for (a clone on meta is free; on
    # a real device it costs one copy of the inputs).
    pos, kw = copied(pos, cast), copied(kw, cast)
    recs = [
        InputRecord(f"input{i}", shape_of(t), dtype_name(t.dtype))
        for i, t in enumerate(tensor_leaves(pos))
    ] + [
        InputRecord(k, shape_of(t), dtype_name(t.dtype))
        for k, v in kw.items()
        for t in tensor_leaves(v)
    ]
    return _Prepared(pos, kw, tuple(recs))


def check_spec_count(
    model: nn.Module, specs: Sequence[InputSpec], default_args: Mapping[str, Any]
) -> None:
    """``check_forward_arguments`` for ``--input`` specs before any tensor exists (``sizes``):
    one positional input per unnamed spec, a keyword per named one."""
    positional = tuple(range(sum(1 for s in specs if s.name is None)))
    named = {s.name.split(".")[0]: None for s in specs if s.name is not None}
    check_forward_arguments(model, _Prepared(positional, {**default_args, **named}, ()))


def check_forward_arguments(model: nn.Module, prepared: _Prepared) -> None:
    """The inputs against forward()'s signature, before the pass: too many or too few
    positional inputs, and keyword inputs or --arg names it cannot take, are usage errors
    rather than failures blamed on the model."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):  # a builtin or C forward: nothing to check against
        return
    params = signature.parameters
    kinds = inspect.Parameter
    owner = f"{type(model).__name__}.forward"
    _check_positional_count(signature, prepared, f"{owner}{_plain_signature(signature)}")
    if any(p.kind is kinds.VAR_KEYWORD for p in params.values()):
        return
    named = [
        n for n, p in params.items() if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
    ]
    has_var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params.values())
    positional = [n for n, p in params.items() if p.kind is not kinds.KEYWORD_ONLY]
    taken = set(positional[: len(prepared.args)]) if not has_var_positional else set()
    for key in prepared.kwargs:
        if key not in named:
            close = difflib.get_close_matches(key, named, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"{owner} has no argument {key!r}{hint}; it takes: {', '.join(named) or 'nothing'}"
            )
        if key in taken:
            raise UsageError(f"{owner} gets {key!r} twice: as a positional input and by name")


_IMAGE_NAMES = {"x", "input", "inputs", "img", "image", "images", "pixel_values"}


def wrapped_or_no_default_input(name: str, model: nn.Module, notes: list[str]) -> tuple[str, ...]:
    """For a target with no default input: that of the torchvision model it wraps (noted in
    ``notes``), else raises ``no_default_input``'s error."""
    from netinspect.sources.torchvision import wrapped_model_inputs

    wrapped = wrapped_model_inputs(model)
    if wrapped is None:
        raise no_default_input(name, model)
    specs, row = wrapped
    notes.append(
        f"no --input given: using the default input of the torchvision model it wraps, "
        f"{row}: {' '.join(specs)}"
    )
    return specs


def no_default_input(name: str, model: nn.Module, image: str = "1x3x224x224") -> UsageError:
    """The error for a target with no default input, with an example that fits its forward():
    an image batch (``image``) for ``forward(x)``, else the input it names first (transformers'
    models declare it as ``main_input_name``)."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        signature = None
    kinds = inspect.Parameter
    params = [
        p
        for p in (signature.parameters.values() if signature else ())
        if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
    ]
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    main = getattr(model, "main_input_name", None)
    first = main if isinstance(main, str) else (required or [p.name for p in params] or [""])[0]
    if not first or first in _IMAGE_NAMES:
        return UsageError(f"{name} has no default input: pass one, e.g. --input {image}")
    shown = ""
    if signature is not None:
        names = [p.name for p in params[:4]] + (["..."] if len(params) > 4 else [])
        shown = f"{type(model).__name__}.forward({', '.join(names)})"
    return UsageError(
        f"{name} has no default input: pass one per input of {shown or 'its forward()'}, "
        f"e.g. --input {first}=SHAPE"
    )


def _plain_signature(signature: inspect.Signature) -> str:
    """``(image1, image2, num_flow_updates=12)``: names and defaults, no annotations."""
    empty = inspect.Parameter.empty
    plain = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=empty))


def _check_positional_count(signature: inspect.Signature, prepared: _Prepared, shown: str) -> None:
    """One positional input per positional parameter: more than forward() takes, or fewer
    than it requires (and no keyword input fills the gap), is refused with the signature."""
    kinds = inspect.Parameter
    params = list(signature.parameters.values())
    slots = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    given = len(prepared.args)
    inputs = f"{given} positional input{'s' if given != 1 else ''}"
    if given > len(slots) and not any(p.kind is kinds.VAR_POSITIONAL for p in params):
        takes = len(slots)
        raise UsageError(
            f"{shown} takes {takes} positional input{'s' if takes != 1 else ''}, got {given} "
            "(one per --input)"
        )
    missing = [
        p.name
        for i, p in enumerate(slots)
        if i >= given and p.default is kinds.empty and p.name not in prepared.kwargs
    ]
    missing += [
        p.name
        for p in params
        if p.kind is kinds.KEYWORD_ONLY
        and p.default is kinds.empty
        and p.name not in prepared.kwargs
    ]
    if missing:
        raise UsageError(
            f"{shown} needs {', '.join(missing)}, got {inputs}: pass one --input per "
            f"input (name=SPEC for a keyword)"
        )


_INDEX_LAYERS = ("Embedding", "EmbeddingBag")


def index_input_specs(
    specs: tuple[InputSpec, ...] | None, capture: CallCapture
) -> tuple[tuple[InputSpec, ...], str] | None:
    """When the pass failed at an Embedding fed a float dummy input, the specs with that
    input made int64 (indices, as zeros: valid for any table), and a note saying so. Only
    inputs given without a dtype change: ``text=1x10:float32`` stays as written."""
    if specs is None or capture.failure is None:
        return None
    row = capture.rows[capture.failure.row_index]
    if (
        row.kind != "module"
        or row.type not in _INDEX_LAYERS
        or not row.input_dtypes
        or not row.input_dtypes[0].startswith(("float", "bfloat"))
    ):
        return None
    shape = row.input_shapes[0]
    retyped = [
        InputSpec(s.name, TensorSpec(s.value.shape, "int64"))
        if isinstance(s.value, TensorSpec) and s.value.dtype is None and s.value.shape == shape
        else s
        for s in specs
    ]
    changed = [
        f"{format_input_spec(old)} made int64 ({format_input_spec(new)})"
        for new, old in zip(retyped, specs, strict=True)
        if new != old
    ]
    if not changed:
        return None
    note = f"{', '.join(changed)}: it feeds {row.type} {row.name}, which takes integer indices"
    return tuple(retyped), note


def parse_dtype_arg(text: str) -> str:
    try:
        return parse_dtype(text)
    except ValueError as exc:
        raise UsageError(f"--dtype: {exc}") from None
