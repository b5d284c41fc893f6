"""Inputs of the wrong kind: dtypes, float token ids, lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

from netinspect.analysis.diagnose.common import (
    _WEIGHTED_ATTRS,
    Diagnosis,
    _is_floating,
    _label,
    fmt_dims,
    op_name,
)
from netinspect.analysis.diagnose.layers import _spatial_count
from netinspect.records import (
    InputRecord,
    LayerRecord,
)

# --- dtypes --------------------------------------------------------------------------------


def _article(word: str) -> str:
    return "an" if word.startswith(("int", "a", "e", "o")) else "a"


def _diagnose_dtype(row: LayerRecord, param_dtype: str | None) -> Diagnosis | None:
    if (
        row.kind != "module"
        or not row.input_dtypes
        or not any(a in row.attributes for a in _WEIGHTED_ATTRS)
    ):
        return None
    got = row.input_dtypes[0]
    weights = param_dtype or "float32"
    if _is_floating(got) and got == weights:
        return None
    shape = row.input_shapes[0] if row.input_shapes else ()
    message = f"{_label(row)} got {_article(got)} {got} input {fmt_dims(shape)}; its weights are {weights}"
    if _is_floating(got):
        hint = f"cast the input with .to(torch.{weights}), or the model with .to(torch.{got})"
    else:
        hint = f"cast the input with .float() (on the command line, drop :{got} from --input)"
    return Diagnosis(f"{_article(weights)} {weights} input", message, hint)


# --- token ids given as floats ------------------------------------------------------------


def _diagnose_token_ids(row: LayerRecord, inputs: Sequence[InputRecord] = ()) -> Diagnosis | None:
    """An embedding lookup (``nn.Embedding`` or ``F.embedding``) fed floats: token ids are
    integers, and on the command line an input is float unless its spec says otherwise."""
    is_module = row.kind == "module" and "num_embeddings" in row.attributes
    is_function = row.kind == "function" and op_name(row) == "embedding"
    if not (is_module or is_function) or not row.input_dtypes:
        return None
    got = row.input_dtypes[0]
    if not _is_floating(got):
        return None
    shape = row.input_shapes[0] if row.input_shapes else ()
    dims = "x".join(str(d) for d in shape) or "1x128"
    message = f"{_label(row)} looks up token ids, which are integers, but got {_article(got)} {got} input {fmt_dims(shape)}"
    # The model input that arrives here, when one has this shape and dtype: name it.
    given = [i for i in inputs if tuple(i.shape) == tuple(shape) and i.dtype == got]
    if len(given) == 1:
        name = given[0].name
        spec = f"{dims}:int64" if re.fullmatch(r"input\d+", name) else f"{name}={dims}:int64"
        hint = f"give the input an integer dtype: --input {spec} (or .long() on a tensor)"
    else:
        hint = (
            f"give the input an integer dtype with :int64 (--input {dims}:int64, "
            f"or NAME={dims}:int64 for a keyword input such as input_ids; .long() on a tensor)"
        )
    return Diagnosis("int64 (or int32) token ids", message, hint)


# --- a list where one tensor was expected ---------------------------------------------------

# Layers whose forward takes exactly one tensor (marked by the settings that size it).
_SINGLE_TENSOR_ATTRS = ("in_channels", "in_features", "num_features", "normalized_shape")


def _example_input(row: LayerRecord) -> str:
    """A one-tensor ``--input`` for this layer: ``1x3x224x224`` for a Conv2d(3, ...)."""
    attrs = row.attributes
    if isinstance(attrs.get("in_features"), int):
        return f"1x{attrs['in_features']}"
    channels = next(
        (attrs[a] for a in ("in_channels", "num_features") if isinstance(attrs.get(a), int)), 3
    )
    spatial = _spatial_count(row) or 2
    return f"1x{channels}" + ("x224" * spatial if spatial == 2 else "x32" * spatial)


def _diagnose_sequence_input(
    row: LayerRecord, exception_type: str, exception_message: str
) -> Diagnosis | None:
    """A single-tensor layer (Conv, Linear, norm) fed a list or tuple of tensors.

    The records show it when the call had several tensor leaves. A one-element list records
    like a plain tensor; only then is torch's text read, as a last resort: its argument
    parser says "got (list, ..." or "must be Tensor, not list"."""
    if row.kind != "module" or not any(a in row.attributes for a in _SINGLE_TENSOR_ATTRS):
        return None
    leaves = len(row.input_shapes)
    text = exception_message.lower()
    said_sequence = exception_type == "TypeError" and any(
        key in text for key in ("got (list", "got (tuple", "not list", "not tuple")
    )
    if leaves <= 1 and not said_sequence:
        return None
    shapes = " ".join(fmt_dims(s) for s in row.input_shapes)
    count = f"{leaves} tensors" if leaves != 1 else "1 tensor"
    message = (
        f"{_label(row)} received a list/tuple of {count} ({shapes}) where one tensor was expected"
    )
    hint = f"pass one tensor: --input {_example_input(row)}"
    return Diagnosis("one tensor", message, hint)


# --- a missing batch dimension --------------------------------------------------------------

# Layers that take a batch of N-D maps, (B, C, *N dims); torch also runs most of them on one
# unbatched (C, *N dims) sample, which only fails later, far from the cause.
_BATCHED_LAYER = re.compile(
    r"(?:Lazy)?(?:Conv|ConvTranspose|BatchNorm|InstanceNorm|MaxPool|AvgPool|LPPool"
    r"|AdaptiveAvgPool|AdaptiveMaxPool|FractionalMaxPool)([123])d"
)
_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}


def _diagnose_missing_batch(layers: Sequence[LayerRecord]) -> Diagnosis | None:
    """The model input is one dim short of what its first layer takes in a batch
    (``3x224x224`` into a Conv2d): the fix is a batch dim, whatever failed later."""
    if not layers or layers[0].depth != 0 or not layers[0].input_shapes:
        return None
    given = layers[0].input_shapes[0]
    first = next(
        (
            row
            for row in layers[1:]
            if row.kind == "module"
            and row.input_shapes[:1] == (given,)
            and _BATCHED_LAYER.fullmatch(row.type)
        ),
        None,
    )
    if first is None:
        return None
    match = _BATCHED_LAYER.fullmatch(first.type)
    assert match is not None
    spatial = int(match.group(1))
    if len(given) != spatial + 1:
        return None
    batched = "x".join(str(d) for d in (1, *given))
    return Diagnosis(
        f"a {spatial + 2}-D batch [N, C, {_AXES[spatial]}]",
        f"the input {fmt_dims(given)} has no batch dimension: {_label(first)}, its first layer, "
        f"takes [N, C, {_AXES[spatial]}]",
        f"add a batch dimension: {batched}",
    )
