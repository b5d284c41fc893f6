"""Layers that reject their input's shape: Linear, Conv, norms, windows."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netinspect.analysis.diagnose.common import (
    _FLATTEN_OPS,
    Diagnosis,
    _label,
    _producer,
    fmt_dims,
    fmt_size,
    op_name,
    per_dim,
)
from netinspect.analysis.upsampling import is_adaptive_pool
from netinspect.records import (
    LayerRecord,
    Shape,
)

# --- Linear --------------------------------------------------------------------------------


def _flatten_source(layers: Sequence[LayerRecord], before: int, shape: Shape) -> LayerRecord | None:
    """The flatten/view/reshape row that produced ``shape`` by merging dims."""
    for j in range(before - 1, -1, -1):
        row = layers[j]
        if row.output_shapes[:1] != (shape,) or not row.input_shapes:
            continue
        is_flatten = (
            op_name(row) in _FLATTEN_OPS if row.kind == "function" else row.type == "Flatten"
        )
        if is_flatten and len(row.input_shapes[0]) > len(shape):
            return row
        if row.input_shapes[:1] != (shape,):
            return None  # made by something else (a Linear, a pooling...)
    return None


def _merged_dims(src: Shape, out: Shape) -> Shape:
    """The dims of ``src`` multiplied into ``out``'s last dim ((512, 7, 7) for [1,512,7,7] ->
    [1,25088]), or () when it is not a plain merge of trailing dims."""
    keep = len(out) - 1
    if src[:keep] != out[:keep]:
        return ()
    tail = src[keep:]
    return tail if math.prod(tail) == out[-1] else ()


def _integer_root(value: int, n: int) -> int | None:
    root = round(value ** (1 / n))
    for r in (root - 1, root, root + 1):
        if r > 0 and int(r) ** n == value:
            return int(r)
    return None


def _factor_like(expected: int, merged: Shape) -> Shape | None:
    """``expected`` written with ``merged``'s leading (channel) dim and equal spatial dims:
    25088 like (512, 5, 5) -> (512, 7, 7). None when it does not divide that way."""
    if len(merged) < 2 or expected % merged[0]:
        return None
    spatial = len(merged) - 1
    side = _integer_root(expected // merged[0], spatial)
    if side is None:
        return None
    return (merged[0],) + (side,) * spatial


def _pool_hint(
    layers: Sequence[LayerRecord], flat: LayerRecord, merged: Shape, wanted: Shape, what: str
) -> str:
    """``, or add nn.AdaptiveAvgPool2d((7, 7)) before the flatten``, checked against this
    model's rows first: an adaptive pool larger than the map it gets would upsample (repeat
    values), which hides the mismatch instead of fixing it. A map too small is fixed at the
    pool that made it, if that pool's own input is large enough; else no pool is offered."""
    sizes = wanted[1:]
    pool_size = ", ".join(str(d) for d in sizes) + ("," if len(sizes) == 1 else "")
    source = _producer(layers, flat.index, flat.input_shapes[0])
    is_pool = source is not None and "pool" in source.type.lower() and bool(source.input_shapes)
    if source is not None and is_pool:
        reaching = source.input_shapes[0][-len(sizes) :]
        is_pool = len(reaching) == len(sizes) and all(
            r >= w for r, w in zip(reaching, sizes, strict=True)
        )
    where = ""
    if source is not None:
        where = source.name if source.kind == "module" else f"{op_name(source)}()"
    if source is not None and is_pool and is_adaptive_pool(source.type):
        return f", or make {where} pool to ({pool_size}) instead of {fmt_size(merged[1:])}"
    if all(h >= w for h, w in zip(merged[1:], sizes, strict=True)):
        return f", or add nn.AdaptiveAvgPool{len(sizes)}d(({pool_size})) before the {what}"
    if source is not None and is_pool:
        kind = "Max" if "max" in source.type.lower() else "Avg"
        return f", or replace {where} ({source.type}) with nn.Adaptive{kind}Pool{len(sizes)}d(({pool_size}))"
    return ""


def _diagnose_linear(layers: Sequence[LayerRecord], row: LayerRecord) -> Diagnosis | None:
    in_features = row.attributes.get("in_features")
    if not isinstance(in_features, int) or not row.input_shapes or not row.input_shapes[0]:
        return None
    shape = row.input_shapes[0]
    got = shape[-1]
    if got == in_features:
        return None
    expected = f"last dim {in_features} (in_features={in_features}), got {fmt_dims(shape)}"
    lazy = "use nn.LazyLinear"
    flat = _flatten_source(layers, row.index, shape)
    merged = _merged_dims(flat.input_shapes[0], shape) if flat is not None else ()
    if flat is not None and len(merged) > 1:
        what = (
            "flatten"
            if op_name(flat) in ("flatten", "Flatten") or flat.type == "Flatten"
            else op_name(flat)
        )
        wanted = _factor_like(in_features, merged)
        expects = f"{row.type} expects {in_features}"
        if wanted is not None:
            expects += f" = {fmt_size(wanted)}"
        where = what if flat.name == what else f"{what} ({flat.name})"
        message = f"{_label(row)}: {where} produced {fmt_size(merged)} = {got}; {expects}"
        pool = _pool_hint(layers, flat, merged, wanted, what) if wanted is not None else ""
        hint = f"set in_features={got}, {lazy}{pool}"
        return Diagnosis(expected, message, hint)
    message = f"{_label(row)} expects a last dim of {in_features} (in_features), got {got} from input {fmt_dims(shape)}"
    return Diagnosis(expected, message, f"set in_features={got}, or {lazy}")


# --- Conv / norm channels ------------------------------------------------------------------


def _channel_dim(shape: Shape, spatial: int) -> int | None:
    """Dim of the channels: 1 for a batched (N, C, *spatial) input, 0 for an unbatched one."""
    if len(shape) == spatial + 2:
        return 1
    if len(shape) == spatial + 1:
        return 0
    return None


def _lazy_name(row_type: str) -> str:
    return (
        f"nn.Lazy{row_type}" if row_type.startswith(("Conv", "BatchNorm", "InstanceNorm")) else ""
    )


def _producer_hint(
    layers: Sequence[LayerRecord], row: LayerRecord, shape: Shape, got: int, setting: str
) -> str:
    lazy = _lazy_name(row.type)
    fix = f"set {setting}={got}" + (f", or use {lazy}" if lazy else "")
    producer = _producer(layers, row.index, shape)
    if producer is None:
        return fix
    return f"{producer.name or '(root)'} ({producer.type}) outputs {got} channels: {fix}"


def _diagnose_conv(layers: Sequence[LayerRecord], row: LayerRecord) -> Diagnosis | None:
    in_channels = row.attributes.get("in_channels")
    kernel = row.attributes.get("kernel_size")
    if not isinstance(in_channels, int) or not isinstance(kernel, tuple) or not row.input_shapes:
        return None
    shape = row.input_shapes[0]
    spatial = len(kernel)
    cdim = _channel_dim(shape, spatial)
    if cdim is None:
        letters = "DHW"[-spatial:] if spatial <= 3 else "*"
        message = (
            f"{_label(row)} expects a {spatial + 1}-D or {spatial + 2}-D input "
            f"(N, C, {', '.join(letters)}), got {len(shape)}-D {fmt_dims(shape)}"
        )
        return Diagnosis(
            f"a {spatial + 2}-D input [N, {in_channels}, {', '.join(letters)}]", message, None
        )
    got = shape[cdim]
    if got == in_channels:
        return _diagnose_window(layers, row)
    message = (
        f"{_label(row)} expects {in_channels} input channels, got {got} (input {fmt_dims(shape)}"
    )
    if cdim == 0:
        # torch reads an (N+1)-D input as one unbatched sample: [1,3,224] is C=1, H=3, W=224.
        letters = ("L", "H×W", "D×H×W")[spatial - 1] if spatial <= 3 else "…"
        message += f", read as one unbatched C×{letters} sample"
    message += ")"
    expected = f"{in_channels} channels in dim {cdim} (in_channels={in_channels})"
    return Diagnosis(expected, message, _producer_hint(layers, row, shape, got, "in_channels"))


def _diagnose_norm(layers: Sequence[LayerRecord], row: LayerRecord) -> Diagnosis | None:
    if not row.input_shapes or not row.input_shapes[0]:
        return None
    shape = row.input_shapes[0]
    normalized = row.attributes.get("normalized_shape")
    if isinstance(normalized, tuple):
        tail = shape[len(shape) - len(normalized) :] if len(shape) >= len(normalized) else shape
        if tail == normalized:
            return None
        message = (
            f"{_label(row)} normalizes the last {len(normalized)} dim(s) "
            f"{fmt_dims(normalized)}, but the input {fmt_dims(shape)} ends in {fmt_dims(tail)}"
        )
        setting = "normalized_shape=" + (
            str(shape[-1]) if len(normalized) == 1 else "(" + ", ".join(map(str, tail)) + ")"
        )
        return Diagnosis(f"an input ending in {fmt_dims(normalized)}", message, f"set {setting}")
    for attr in ("num_features", "num_channels"):
        channels = row.attributes.get(attr)
        if isinstance(channels, int):
            break
    else:
        return None
    cdim = 1 if len(shape) >= 2 else 0
    got = shape[cdim]
    if got == channels:
        groups = row.attributes.get("num_groups")
        if isinstance(groups, int) and groups and got % groups:
            message = f"{_label(row)}: {got} channels do not split into num_groups={groups}"
            return Diagnosis(f"channels divisible by {groups}", message, None)
        return None
    message = f"{_label(row)} expects {channels} channels, got {got} (input {fmt_dims(shape)})"
    expected = f"{channels} channels in dim {cdim} ({attr}={channels})"
    return Diagnosis(expected, message, _producer_hint(layers, row, shape, got, attr))


# --- windows (conv and pooling) ------------------------------------------------------------


def _window(
    row: LayerRecord, spatial: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """(kernel, stride, padding, dilation) per spatial dim, or None when not a fixed window."""
    attrs = row.attributes
    kernel = per_dim(attrs.get("kernel_size"), spatial)
    if kernel is None:
        return None
    stride = per_dim(attrs.get("stride") or attrs.get("kernel_size"), spatial)
    padding = per_dim(attrs.get("padding", 0), spatial)
    dilation = per_dim(attrs.get("dilation", 1), spatial)
    if stride is None or padding is None or dilation is None:
        return None  # padding="same" and the like: no fixed arithmetic
    return kernel, stride, padding, dilation


def _spatial_count(row: LayerRecord) -> int | None:
    kernel = row.attributes.get("kernel_size")
    if isinstance(kernel, tuple):
        return len(kernel)
    digit = next((c for c in reversed(row.type) if c.isdigit()), None)
    if isinstance(kernel, int) and digit is not None and row.type.endswith("d"):
        return int(digit)
    return None


def _min_model_input(layers: Sequence[LayerRecord], row: LayerRecord, need: Shape) -> Shape | None:
    """The smallest model input (spatial dims) that gives ``row`` an input of ``need``, walking
    back through a plain chain of conv/pool rows; None when the path is not such a chain."""
    spatial = len(need)
    current = row.input_shapes[0][-spatial:]
    for j in range(row.index - 1, -1, -1):
        prev = layers[j]
        if (
            not prev.input_shapes
            or not prev.output_shapes
            or (j + 1 < len(layers) and layers[j + 1].depth > prev.depth)
        ):
            continue  # containers repeat their children's work
        src, out = prev.input_shapes[0], prev.output_shapes[0]
        if len(out) < spatial or out[-spatial:] != current:
            continue
        window = _window(prev, spatial) if _spatial_count(prev) == spatial else None
        if window is None:
            if len(src) >= spatial and src[-spatial:] != current:
                return None  # resized by something without a fixed window (interpolate...)
            continue
        k, s, p, d = window
        need = tuple(
            max(1, (n - 1) * st + dl * (kk - 1) + 1 - 2 * pd)
            for n, kk, st, pd, dl in zip(need, k, s, p, d, strict=False)
        )
        current = src[-spatial:]
    model_input = layers[0].input_shapes[0] if layers and layers[0].input_shapes else ()
    if len(model_input) >= spatial and model_input[-spatial:] == current:
        return need
    return None


def _diagnose_window(layers: Sequence[LayerRecord], row: LayerRecord) -> Diagnosis | None:
    spatial = _spatial_count(row)
    if spatial is None or not row.input_shapes or len(row.input_shapes[0]) < spatial:
        return None
    window = _window(row, spatial)
    if window is None:
        return None
    kernel, _, padding, dilation = window
    size = row.input_shapes[0][-spatial:]
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=False))
    padded = tuple(n + 2 * p for n, p in zip(size, padding, strict=False))
    if all(e <= n for e, n in zip(effective, padded, strict=False)):
        return None
    # 1-D layers slide a kernel along a length; 2-D and 3-D ones a window over an area.
    what = f"input length {size[0]}" if spatial == 1 else f"input {fmt_size(size)}"
    if any(padding):
        what += f" (padded {fmt_size(padded)})"
    win = f"kernel size {effective[0]}" if spatial == 1 else f"{fmt_size(effective)} window"
    if any(d > 1 for d in dilation):
        win += f" ({fmt_size(kernel)} dilated by {fmt_size(dilation)})"
    message = f"{_label(row)}: {what} is smaller than the {win}"
    need = tuple(max(e - 2 * p, 1) for e, p in zip(effective, padding, strict=False))
    expected = f"an input of at least {fmt_size(need)}"
    hint = None
    smallest = _min_model_input(layers, row, need)
    model_input = layers[0].input_shapes[0][-spatial:]
    if smallest is not None:
        hint = window_hint(model_input, size, smallest, None)
    return Diagnosis(expected, message, hint, smallest)


def window_hint(model_input: Shape, size: Shape, reaching: Shape, runs: Shape | None) -> str:
    """The hint of a window failure: ``reaching`` is the smallest model input that gets the
    failing layer a full window; ``runs``, when known, the smallest that was run and passed
    (layers after the failing one may need more than ``reaching``)."""
    head = f"the {fmt_size(model_input)} model input shrinks to {fmt_size(size)} by this layer"
    if runs is not None:
        return (
            f"{head}; the model takes at least {fmt_size(runs)} (checked: a "
            f"{fmt_size(runs)} input runs; `netinspect sizes` finds the whole accepted range)"
        )
    return (
        f"{head}; it takes at least {fmt_size(reaching)} to reach it, and the layers after it "
        "may need more (`netinspect sizes` finds the whole accepted range)"
    )
