"""Formatting helpers shared by the renderers (no torch)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from netinspect.analysis.numbers import dims_text
from netinspect.records import (
    ErrorRecord,
    FlattenPoint,
    InspectionReport,
    LayerRecord,
    Shape,
    SymbolicReport,
)
from netinspect.render.flatten_text import chain_line, headless_line
from netinspect.render.options import Column
from netinspect.render.symbolic_text import (
    fmt_sym_shapes,
    others_at_hints,
    sym_shape_parts,
    symbolic_arrow,
)
from netinspect.symexpr import readable, readable_shape
from netinspect.training_records import TrainingRecord


def fmt_shape(shape: Shape, sep: str = ", ") -> str:
    return "[" + sep.join(str(d) for d in shape) + "]"


# Marks a shape that depends on tensor values (``LayerRecord.data_dependent``).
DATA_DEPENDENT_MARK = "~"
DATA_DEPENDENT_LEGEND = (
    "~ marks a shape that depends on tensor values (data-dependent): "
    "other inputs or weights give other sizes (in formulas, u0, u1... are such sizes)"
)


def has_data_dependent_shapes(report: InspectionReport) -> bool:
    return bool(report.data_dependent_outputs) or any(r.data_dependent for r in report.layers)


def shape_parts(
    shapes: Sequence[Shape], limit: int = 3, sep: str = ", ", *, mark: str = ""
) -> list[str]:
    """Every tensor leaf's shape; past ``limit`` leaves, the count of the rest (``+2 more``)."""
    if not shapes:
        return ["-"]
    parts = [mark + fmt_shape(s, sep) for s in shapes[:limit]]
    if len(shapes) > limit:
        parts.append(f"+{len(shapes) - limit} more")
    return parts


def fmt_shapes(shapes: Sequence[Shape], limit: int = 3, sep: str = ", ", *, mark: str = "") -> str:
    """Every tensor leaf's shape; past ``limit`` leaves, the count of the rest."""
    return " ".join(shape_parts(shapes, limit, sep, mark=mark))


def clip(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters of a value from outside (an exception's text can run to
    megabytes; the table shows one readable line of it)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fmt_params(layer: LayerRecord) -> str:
    """Params first counted at this row, with frozen and shared ones marked."""
    if layer.params == 0:
        return f"(shared {fmt_int(layer.shared_params)})" if layer.shared_params else "-"
    text = fmt_int(layer.params)
    frozen = layer.params - layer.trainable_params
    if frozen == layer.params:
        text += " (frozen)"
    elif frozen:
        text += f" ({fmt_int(frozen)} frozen)"
    if layer.shared_params:
        text += f" +{fmt_int(layer.shared_params)} shared"
    return text


def fmt_count(n: int) -> str:
    """Compact count for cost columns: 1,234,567,890 -> ``1.23 G``."""
    if n == 0:
        return "-"
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:,.2f} {unit}"
    return str(n)


def fmt_activation(layer: LayerRecord) -> str:
    return fmt_bytes(layer.activation_bytes) if layer.activation_bytes else "-"


def cost_lines(
    report: InspectionReport, quote: Callable[[str], str] = str
) -> list[tuple[str, str]]:
    """FLOPs, MACs and memory totals; "partial" with the uncounted ops' names when any
    (``quote`` marks up an op name, e.g. as markdown code)."""
    t = report.totals
    # With named dims the numbers are those of the pass at the hints.
    at = ""
    if report.symbolic is not None:
        at = " at " + ", ".join(f"{s.name}={s.hint}" for s in report.symbolic.symbols)
    flops = f"{fmt_count(t.flops)} ({fmt_int(t.flops)}){at}" if t.flops else "0"
    if t.flops_partial:
        flops += " partial: not counted: " + ", ".join(quote(op) for op in t.uncounted_ops)
    matmul = (
        f"{fmt_count(t.matmul_flops)} ({fmt_int(t.matmul_flops)}){at}" if t.matmul_flops else "0"
    )
    return [
        ("FLOPs", flops),
        ("  matmul/conv only", matmul + " (= torch's FlopCounterMode)"),
        ("MACs", f"{fmt_count(t.macs)} ({fmt_int(t.macs)}){at}" if t.macs else "0"),
        ("Buffer size", fmt_bytes(t.buffer_bytes)),
        ("Activations", fmt_bytes(t.activation_bytes) + at),
    ]


def label_parts(layer: LayerRecord) -> tuple[str, list[str]]:
    """A row's short name (the last part of its dotted name, ``flatten()`` for an op) and the
    marks after it (``#2`` for a second call, ``× 3`` for a collapsed repeat)."""
    if layer.kind == "function":
        op = layer.name.rsplit(".", 1)[-1] if layer.parent else layer.name
        name = f"{op}()"
    elif not layer.name:
        name = "(root)"
    else:
        name = layer.name.rsplit(".", 1)[-1]
    marks = []
    if layer.call_index:
        marks.append(f"#{layer.call_index + 1}")
    if layer.repeat > 1:
        marks.append(f"× {layer.repeat}")
    return name, marks


def short_name(layer: LayerRecord) -> str:
    name, marks = label_parts(layer)
    return " ".join([name, *marks])


def flatten_summary(
    point: FlattenPoint, symbolic: SymbolicReport | None = None, layer: LayerRecord | None = None
) -> list[str]:
    """Plain-language lines about the flatten point (shared by the table and markdown); with
    named dims, the feature count as a formula and when the consumer's in_features matches."""
    where = f" at {point.source}" if point.source else ""
    lines = [f"{point.type} ({point.name}, row {point.layer_index}){where}"]
    formula = symbolic.flatten if symbolic is not None else None
    if (
        symbolic is not None
        and formula is not None
        and layer is not None
        and layer.input_shapes_symbolic
    ):
        lines.append(symbolic_arrow(point, symbolic, layer))
    else:
        lines.append(_flatten_arrow(point))
    consumers = point.consumers or ((point.consumer,) if point.consumer is not None else ())
    for consumer in consumers:
        feeds = f"feeds {consumer.name} {consumer.type}"
        if consumer.from_layer_index not in (None, point.layer_index):
            feeds = f"row {consumer.from_layer_index} (the same {point.type}) {feeds}"
        if consumer.expected_in_features is not None:
            feeds += f"(in_features={consumer.expected_in_features:,})"
            if formula is not None and formula.consumer_condition:
                sets = ", ".join(f"{n} {text}" for n, text in formula.consumer_valid)
                others = others_at_hints(symbolic, formula.depends_on)  # type: ignore[arg-type]
                feeds += (
                    f": matches exactly when {readable(formula.consumer_condition)}"
                    f" ({sets}{others})"
                )
            elif consumer.matches:
                feeds += ": sizes agree"
            else:
                feeds += f": MISMATCH, it gets {point.output_shape[-1]:,}"
        lines.append(feeds)
        if consumer is consumers[0] and (through := chain_line(point)) is not None:
            lines.append("  " + through)
    if (headless := headless_line(point)) is not None:
        lines.append(headless)
    return lines


def _flatten_arrow(point: FlattenPoint) -> str:
    """``[1, 512, 7, 7] -> [1, 25088] = 512×7×7 = 25,088``, or what the row does instead."""
    src, out = point.input_shape, point.output_shape
    arrow = f"{fmt_shape(src)} -> {fmt_shape(out)}"
    op = point.type.rsplit(".", 1)[-1]
    match point.operation:
        case "reduces":
            over = src[2:] if len(src) > 2 and src[1] == out[1] else ()
            dims = f" over {'×'.join(map(str, over))}" if over else ""
            return arrow + f" (reduces{dims} with {op} rather than flattening)"
        case "selects":
            return arrow + " (selects from the input rather than flattening it)"
        case "other":
            return arrow + f" (not a flatten: {math.prod(src[1:]):,} values in, {out[1]:,} out)"
    # "flattens", or a report saved before ``operation`` existed.
    if point.flattened_dims and len(point.flattened_dims) > 1:
        dims = "×".join(str(d) for d in point.flattened_dims)
        arrow += f" = {dims} = {out[1]:,}"
    elif not point.flattened_dims:
        arrow += " (selects from the input rather than flattening it)"
    return arrow


def totals_lines(
    report: InspectionReport, quote: Callable[[str], str] = str
) -> list[tuple[str, str]]:
    t = report.totals
    by_dtype = ", ".join(f"{k}: {fmt_bytes(v)}" for k, v in sorted(t.param_bytes_by_dtype.items()))
    rows = [
        ("Total params", fmt_int(t.params)),
        ("Trainable params", fmt_int(t.trainable_params)),
        ("Non-trainable params", fmt_int(t.non_trainable_params)),
        ("Param size", fmt_bytes(t.param_bytes) + (f" ({by_dtype})" if by_dtype else "")),
    ]
    if t.uncalled_params and report.error is None:
        # After a failure the modules past it were never reached: no news there.
        rows.append(("Params never called", fmt_int(t.uncalled_params)))
    rows.extend(cost_lines(report, quote))
    rows.append(("Output", fmt_outputs(report)))
    return rows


def inputs_text(report: InspectionReport) -> str:
    return ", ".join(
        f"{i.name} {readable_shape(i.shape_symbolic, ', ') if i.shape_symbolic else fmt_shape(i.shape)}"
        f" {i.dtype}"
        for i in report.inputs
    )


def failure_lines(error: ErrorRecord) -> list[tuple[str, str]]:
    """The failure block: where, what came in, what was expected, why, and the fix."""
    if error.layer_index is not None:
        where = f"row {error.layer_index} {error.name or '(root)'} ({error.type})"
    else:
        where = "outside any recorded layer"
    if error.source:
        where += f" at {error.source}"
    rows = [("Failed at", where)]
    if error.input_shapes:
        rows.append(("Input", fmt_shapes(error.input_shapes, limit=4)))
    if error.expected:
        rows.append(("Expected", clip(error.expected, 1000)))
    rows.append(("Problem", clip(error.message, 1000)))
    if error.hint:
        rows.append(("Hint", clip(error.hint, 1000)))
    first = clip((error.exception_message.strip().splitlines() or [""])[0])
    rows.append(
        ("torch said", f"{error.exception_type}: {first}" if first else error.exception_type)
    )
    return rows


def per_dim(values: Sequence[float] | None) -> str:
    """``32`` when every spatial dim agrees, else ``16×32`` (``32/7`` for a fraction); ``""``
    when absent."""
    return dims_text(values) if values else ""


def _same_or_each(texts: Sequence[str]) -> str:
    """One text when every spatial dim agrees, else ``a × b``."""
    if len(set(texts)) == 1:
        return texts[0]
    return " × ".join(texts)


def explanation_rows(report: InspectionReport) -> list[tuple[str, str, str, str, str]]:
    """(index, layer, arithmetic, stride, receptive field) per explained visible row."""
    by_index = {layer.index: layer for layer in report.layers}
    rows = []
    for e in report.explanations or ():
        layer = by_index.get(e.layer_index)
        if layer is None:
            continue
        name = f"{layer.name or '(root)'} ({layer.type})"
        lines = list(e.arithmetic) + [f"⚠ {w}" for w in e.warnings]
        stride, rf = per_dim(e.cumulative_stride), per_dim(e.receptive_field)
        if e.cumulative_stride_symbolic is not None:
            stride = _same_or_each(e.cumulative_stride_symbolic)
            rf = _same_or_each(e.receptive_field_symbolic or ())
        rows.append((str(e.layer_index), name, "\n".join(lines), stride, rf))
    return rows


def train_peak_cell(layer: LayerRecord, training: TrainingRecord | None) -> str:
    """A module row's peak during the ``--train`` step; "-" for ops and untracked modules."""
    if training is None or layer.kind == "function":
        return "-"
    peak = training.per_module.get(layer.name)
    return fmt_bytes(peak) if peak is not None else "-"


def column_cells(
    layer: LayerRecord,
    columns: Sequence[Column],
    *,
    shape_sep: str,
    failed: bool,
    training: TrainingRecord | None = None,
) -> list[str]:
    """One row's cells for the chosen columns (the table and markdown share this)."""
    cells: list[str] = []
    for column in columns:
        match column:
            case Column.shapes if layer.input_shapes_symbolic is not None:
                mark = DATA_DEPENDENT_MARK if layer.data_dependent else ""
                outputs = layer.output_shapes_symbolic or ()
                cells.append(fmt_sym_shapes(layer.input_shapes_symbolic, sep=shape_sep))
                cells.append(" ".join(sym_shape_parts(outputs, sep=shape_sep, mark=mark)))
            case Column.shapes:
                cells.append(fmt_shapes(layer.input_shapes, sep=shape_sep))
                # A row that raised has no output: mark it rather than show "-".
                no_output = failed and not layer.output_shapes
                mark = DATA_DEPENDENT_MARK if layer.data_dependent else ""
                cells.append(
                    "✖" if no_output else fmt_shapes(layer.output_shapes, sep=shape_sep, mark=mark)
                )
            case Column.params:
                cells.append(fmt_params(layer))
            case Column.macs:
                cells.append(fmt_count(layer.macs))
            case Column.flops:
                cells.append(fmt_count(layer.flops))
            case Column.memory:
                cells.append(fmt_activation(layer))
            case Column.train:
                cells.append(train_peak_cell(layer, training))
    return cells


def fmt_outputs(report: InspectionReport, limit: int = 6) -> str:
    """The output shapes, each named by where it sits ("out [1, 21, 224, 224]") when forward
    returned a structure rather than one tensor."""
    names = report.output_names
    marked = set(report.data_dependent_outputs)

    def shape_text(i: int, shape: Shape) -> str:
        return (DATA_DEPENDENT_MARK if i in marked else "") + fmt_shape(shape)

    if report.symbolic is not None and len(report.symbolic.outputs) == len(report.outputs):
        shapes = [
            (DATA_DEPENDENT_MARK if i in marked else "") + readable_shape(s, ", ")
            for i, s in enumerate(report.symbolic.outputs)
        ]
        if not any(names) or len(names) != len(shapes):
            return " ".join(shapes[:limit]) + (
                f" +{len(shapes) - limit} more" if len(shapes) > limit else ""
            )
        shown = ", ".join(f"{n} {s}" for n, s in zip(names[:limit], shapes, strict=False))
        return shown + (f" +{len(names) - limit} more" if len(names) > limit else "")
    if not any(names) or len(names) != len(report.outputs):
        if not marked:
            return fmt_shapes(report.outputs, limit=limit)
        names = ("",) * len(report.outputs)
    shown = ", ".join(
        f"{name} {shape_text(i, shape)}".strip()
        for i, (name, shape) in enumerate(zip(names[:limit], report.outputs, strict=False))
    )
    extra = len(names) - limit
    return shown + (f" +{extra} more" if extra > 0 else "")
