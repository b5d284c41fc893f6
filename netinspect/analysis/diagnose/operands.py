"""Operands that do not fit together: broadcasts, joins, matmul."""

from __future__ import annotations

from collections.abc import Sequence

from netinspect.analysis.diagnose.common import Diagnosis, fmt_dims, op_name
from netinspect.records import (
    LayerRecord,
    Shape,
)

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
