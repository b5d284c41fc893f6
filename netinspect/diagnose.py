"""Why a forward pass failed, in words: what the failing layer expected and one concrete fix.

Pure functions of the rows that ran (no torch). The diagnosis is built from shapes, dtypes and
module attributes, never by parsing torch's error text: that text differs between devices
(on meta a Linear mismatch reads "a and b must have same reduction dim").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netinspect.records import LayerRecord, Shape


def per_dim(value: object, n: int) -> tuple[int, ...] | None:
    """A module's int-or-tuple setting (kernel_size=3 or (3, 3)) as one int per spatial dim."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, tuple) and len(value) == n and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """``message`` always; ``expected`` and ``hint`` when the cause is clear."""

    expected: str | None
    message: str
    hint: str | None


# Elementwise ops whose operands must broadcast, mapped to the verb of the message.
_BROADCAST_OPS: dict[str, str] = {
    **dict.fromkeys(("add", "add_", "__add__", "__iadd__", "__radd__"), "added to"),
    **dict.fromkeys(
        ("sub", "sub_", "subtract", "__sub__", "__isub__", "__rsub__"), "subtracted from"
    ),
    **dict.fromkeys(
        ("mul", "mul_", "multiply", "__mul__", "__imul__", "__rmul__"), "multiplied by"
    ),
    **dict.fromkeys(
        ("div", "div_", "divide", "true_divide", "__truediv__", "__itruediv__", "__rtruediv__"),
        "divided by",
    ),
    **dict.fromkeys(("maximum", "minimum", "where", "lerp", "addcmul"), "combined with"),
}
_JOIN_OPS = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack"})
_FLATTEN_OPS = frozenset({"flatten", "view", "reshape", "Flatten"})
# Attributes that mark a layer with floating-point weights applied to its input.
_WEIGHTED_ATTRS = ("in_channels", "in_features", "num_features", "normalized_shape", "num_channels")


def fmt_dims(shape: Sequence[int]) -> str:
    """``[1,128,16,16]``: compact, as in the messages."""
    return "[" + ",".join(str(d) for d in shape) + "]"


def fmt_size(dims: Sequence[int]) -> str:
    """``7×7``: a spatial size or a product of factors."""
    return "×".join(str(d) for d in dims)


def op_name(row: LayerRecord) -> str:
    """The op's short name of a function row (``add`` for ``layer1.0.add``)."""
    return row.name.rsplit(".", 1)[-1] if row.parent else row.name


def _label(row: LayerRecord) -> str:
    if row.kind == "function":
        where = f" in {row.parent}" if row.parent else ""
        return f"{op_name(row)}(){where}"
    return f"{row.type} {row.name or '(root)'}"


def _is_floating(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat", "complex"))


def _producer(layers: Sequence[LayerRecord], before: int, shape: Shape) -> LayerRecord | None:
    """The latest finished row before ``before`` that made a tensor of ``shape`` and changed
    it (pass-through rows such as ReLU or BatchNorm are skipped)."""
    for j in range(before - 1, -1, -1):
        row = layers[j]
        if row.output_shapes[:1] != (shape,):
            continue
        if row.input_shapes[:1] != (shape,):
            return row
    return None


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
        pool = ""
        if wanted is not None:
            pool_size = ", ".join(str(d) for d in wanted[1:])
            pool = f"nn.AdaptiveAvgPool{len(wanted) - 1}d(({pool_size}{',' if len(wanted) == 2 else ''}))"
            pool = f", or add {pool} before the {what}"
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
        hint = (
            f"the {fmt_size(model_input)} model input shrinks to {fmt_size(size)} by this layer; "
            f"it takes at least {fmt_size(smallest)} to reach it with a {fmt_size(need)} map "
            "(`netinspect sizes` finds the whole accepted range)"
        )
    return Diagnosis(expected, message, hint)


# --- elementwise and joins -----------------------------------------------------------------


def _dim_words(a: Shape, b: Shape, dims: list[int]) -> str:
    """``channels 128 vs 64, size 16 vs 32`` for NCHW tensors; ``dim 2: 3 vs 4`` otherwise."""
    if len(a) == len(b) and len(a) in (4, 5):
        parts = []
        if 1 in dims:
            parts.append(f"channels {a[1]} vs {b[1]}")
        spatial = [d for d in dims if d >= 2]
        if spatial:
            pairs = {(a[d], b[d]) for d in spatial}
            if len(spatial) == len(a) - 2 and len(pairs) == 1:
                x, y = pairs.pop()
                parts.append(f"size {x} vs {y}")
            else:
                names = ("depth", "height", "width")[-(len(a) - 2) :]
                parts += [f"{names[d - 2]} {a[d]} vs {b[d]}" for d in spatial]
        if 0 in dims:
            parts.insert(0, f"batch {a[0]} vs {b[0]}")
        return ", ".join(parts)
    return ", ".join(f"dim {d}: {a[d]} vs {b[d]}" for d in dims)


def _broadcast_conflicts(a: Shape, b: Shape) -> list[int]:
    """Dims (indexed in the longer shape) where sizes differ and neither is 1."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return [d for d in range(n) if pa[d] != pb[d] and pa[d] != 1 and pb[d] != 1]


def _describe_operand(
    layers: Sequence[LayerRecord], row: LayerRecord, shape: Shape, exclude: set[int]
) -> LayerRecord | None:
    """The sibling call (a module or op in the same forward) that produced ``shape``."""
    for j in range(row.index - 1, -1, -1):
        prev = layers[j]
        if prev.parent != row.parent or j in exclude:
            continue
        if prev.output_shapes[:1] == (shape,):
            return prev
    return None


def _parent_input(layers: Sequence[LayerRecord], row: LayerRecord) -> Shape | None:
    """The first input of the module whose forward made the op ``row``."""
    for j in range(row.index - 1, -1, -1):
        prev = layers[j]
        if prev.kind == "module" and prev.name == row.parent and prev.depth == row.depth - 1:
            return prev.input_shapes[0] if prev.input_shapes else None
    return None


def _operand_name(row: LayerRecord) -> str:
    return f"{op_name(row)}()" if row.kind == "function" else (row.name or "(root)")


def _shortcut_hint(main: Shape, other: Shape) -> str | None:
    """For NCHW tensors: the 1×1 conv that maps the shortcut ``other`` onto ``main``."""
    if len(main) != len(other) or len(main) not in (4, 5):
        return None
    strides = {o // m if m and o % m == 0 else 0 for m, o in zip(main[2:], other[2:], strict=False)}
    if len(strides) != 1 or 0 in strides:
        return None
    stride = strides.pop()
    dims = len(main) - 2
    conv = (
        f"nn.Conv{dims}d({other[1]}, {main[1]}, 1"
        + (f", stride={stride}" if stride > 1 else "")
        + ", bias=False)"
    )
    shape = "1×1" if dims == 2 else "1×1×1"
    what = f"{shape} conv, stride {stride}" if stride > 1 else f"{shape} conv"
    return f"add a projection shortcut ({what}): {conv} followed by nn.BatchNorm{dims}d({main[1]})"


def _diagnose_broadcast(
    layers: Sequence[LayerRecord], row: LayerRecord, verb: str
) -> Diagnosis | None:
    if len(row.input_shapes) < 2:
        return None
    a, b = row.input_shapes[0], row.input_shapes[1]
    conflicts = _broadcast_conflicts(a, b)
    if not conflicts:
        return None
    src_a = _describe_operand(layers, row, a, set())
    src_b = _describe_operand(layers, row, b, {src_a.index} if src_a else set())
    # "X output ... cannot be added to its input ...": lead with the module whose input the
    # other operand is (the residual pattern), whichever side of the + it was written on.
    main, other, src_main = a, b, src_a
    other_is_input = src_a is not None and src_a.input_shapes[:1] == (b,)
    if not other_is_input and src_b is not None and src_b.input_shapes[:1] == (a,):
        main, other, src_main, other_is_input = b, a, src_b, True
    src_other = src_b if main is a else src_a
    # The tensor that entered the enclosing module (a residual block's own input) is not a
    # sibling's output: name it after that module.
    parent_input = _parent_input(layers, row)
    if src_main is None and src_other is not None and main == parent_input:
        main, other, src_main, src_other = other, main, src_other, None
    other_is_parent_input = not other_is_input and src_other is None and other == parent_input
    left = f"{_operand_name(src_main)} output {fmt_dims(main)}" if src_main else fmt_dims(main)
    if other_is_input:
        right = f"its input {fmt_dims(other)}"
    elif src_other is not None:
        right = f"{_operand_name(src_other)} output {fmt_dims(other)}"
    elif other_is_parent_input:
        owner = f"{row.parent} input" if row.parent else "the model input"
        right = f"{owner} {fmt_dims(other)}"
    else:
        right = fmt_dims(other)
    n = max(len(a), len(b))
    pa = (1,) * (n - len(main)) + main
    pb = (1,) * (n - len(other)) + other
    message = f"{left} cannot be {verb} {right}: {_dim_words(pa, pb, conflicts)}"
    expected = "shapes that broadcast: equal sizes, or 1, in every dim"
    # Only a sum has the residual reading (block output + shortcut); for * or / the operands'
    # roles are unknown, so no fix is guessed.
    hint = None
    if verb == "added to" and (other_is_input or other_is_parent_input or src_other is not None):
        hint = _shortcut_hint(main, other) or "make the shortcut's shape match the block's output"
    return Diagnosis(expected, message, hint)


def _join_dim_words(a: Shape, b: Shape, dims: list[int]) -> str:
    """``H 14 vs 16, W 14 vs 16``: every differing dim of two join operands by its name (NCHW
    letters for 3-D to 5-D tensors, ``dim k`` otherwise), so none hides behind "size"."""
    if len(a) in (3, 4, 5):
        names = ("N", "C", *("DHW"[-(len(a) - 2) :]))
        named = {0: "batch", 1: "channels"}
        return ", ".join(f"{named.get(d, names[d])} {a[d]} vs {b[d]}" for d in dims)
    return ", ".join(f"dim {d}: {a[d]} vs {b[d]}" for d in dims)


def _diagnose_join(layers: Sequence[LayerRecord], row: LayerRecord) -> Diagnosis | None:
    shapes = row.input_shapes
    if len(shapes) < 2:
        return None
    op = op_name(row)
    first = shapes[0]
    is_stack = op == "stack"
    parent_input = _parent_input(layers, row)
    used: set[int] = set()

    def operand(k: int, shape: Shape) -> str:
        """``operand 1 (layer2 output [1,128,16,16])``: who made it, as for ``+``."""
        src = _describe_operand(layers, row, shape, used)
        if src is not None:
            used.add(src.index)
            return f"operand {k} ({_operand_name(src)} output {fmt_dims(shape)})"
        if shape == parent_input:
            owner = f"{row.parent} input" if row.parent else "the model input"
            return f"operand {k} ({owner} {fmt_dims(shape)})"
        return f"operand {k} {fmt_dims(shape)}"

    for k, other in enumerate(shapes[1:], start=1):
        if len(other) != len(first):
            message = f"{op}(): {operand(0, first)} is {len(first)}-D but {operand(k, other)} is {len(other)}-D"
            return Diagnosis("operands of the same rank", message, None)
        differ = [d for d in range(len(first)) if first[d] != other[d]]
        # cat may differ along the joined dim only: two or more differing dims are an error.
        if (is_stack and differ) or len(differ) > 1:
            words = _join_dim_words(first, other, differ)
            rule = (
                "equal shapes"
                if is_stack
                else "equal sizes in every dim but the one it joins along"
            )
            message = f"{op}(): {operand(0, first)} and {operand(k, other)} differ ({words}); {op} needs {rule}"
            return Diagnosis(rule, message, None)
    return None


def _diagnose_matmul(row: LayerRecord) -> Diagnosis | None:
    """``a @ b`` needs a's last dim to equal b's second-to-last; ``F.linear(x, w)`` needs
    x's last dim to equal w's last (w is [out, in])."""
    if len(row.input_shapes) < 2:
        return None
    a, b = row.input_shapes[0], row.input_shapes[1]
    if not a or not b:
        return None
    op = op_name(row)
    inner_b = b[-1] if op == "linear" else (b[-2] if len(b) >= 2 else b[0])
    if a[-1] == inner_b:
        return None
    what = "weight" if op == "linear" else "operand 1"
    message = (
        f"{op}(): operand 0 {fmt_dims(a)} has last dim {a[-1]}, but {what} {fmt_dims(b)} "
        f"expects {inner_b}"
    )
    return Diagnosis(f"a last dim of {inner_b}", message, None)


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


# --- the meta device's limits --------------------------------------------------------------

_META_OP = (
    re.compile(r"aten::(\w+)"),
    re.compile(r"torch\.(\w+)\(\)"),
    re.compile(r"for (\w+)\b.*\bmeta", re.IGNORECASE),
)


def _diagnose_meta_limitation(
    row: LayerRecord | None, exception_type: str, exception_message: str
) -> Diagnosis | None:
    """An op the meta device cannot run: its output size depends on the data (nonzero,
    masked_select, .item()), or it has no meta kernel. Said in one line with the way out."""
    text = exception_message.lower()
    op: str | None
    if "converted to scalar" in text:
        op = ".item()"
    elif exception_type == "NotImplementedError" or any(
        key in text for key in ("meta", "data-dependent", "data dependent")
    ):
        named = next((m.group(1) for p in _META_OP if (m := p.search(exception_message))), None)
        if named is not None:
            op = f"{named}()"
        elif row is not None:
            op = f"{op_name(row)}()" if row.kind == "function" else f"{row.type} {row.name}"
        else:
            op = None
    else:
        return None
    data_dependent = (
        "data-dependent" in text
        or "data dependent" in text
        or "converted to scalar" in text
        or any(k in (op or "") for k in ("nonzero", "masked_select", "unique", "item", "nms"))
    )
    why = "data-dependent output size" if data_dependent else "no meta kernel"
    message = f"the meta device cannot run {op or 'this model'} ({why}); use --device auto or --device cpu"
    return Diagnosis(None, message, None)


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
) -> Diagnosis:
    """Explain the failure at ``layers[row_index]`` (the innermost row that raised).

    A list fed to a one-tensor layer is looked for first, then shape problems, then a dtype
    problem; on ``device`` "meta", an op that device cannot run. When nothing is recognised
    the message is the row and torch's first line.
    """
    text = exception_message.strip()
    first = text.splitlines()[0] if text else exception_type
    row = layers[row_index] if row_index is not None and 0 <= row_index < len(layers) else None
    meta = _diagnose_meta_limitation(row, exception_type, text) if device == "meta" else None
    if row is None:
        return meta or Diagnosis(None, first, None)
    fallback = Diagnosis(None, f"{_label(row)} raised {exception_type}: {first}", None)
    found: Diagnosis | None = None
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
    return found or meta or fallback
