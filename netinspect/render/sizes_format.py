"""Renderers for ``netinspect sizes``: text for people, a dict for ``--format json``. Pure."""

from __future__ import annotations

import itertools
import json
from typing import Any

from netinspect.analysis.sizes import DimSizes, SizesReport, describe_dim, join_shapes
from netinspect.render.safe import printable, printable_json
from netinspect.symexpr import readable, readable_shape

SIZES_SCHEMA_VERSION = 1


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def sizes_to_dict(report: SizesReport) -> dict[str, Any]:
    """The JSON document (``sizes.schema.json``); key order is stable."""
    return {
        "schema_version": SIZES_SCHEMA_VERSION,
        "model": report.model,
        "input_shape": list(report.input_shape),
        "mode": report.mode,
        "device": report.device,
        "summary": report.summary,
        "dims": [_dim_to_dict(d) for d in report.dims],
        "outputs": [list(s) for s in report.outputs],
        "output_constant": report.output_constant,
        "fixed_by": report.fixed_by,
        "probes": report.probes,
        "given_failure": report.given_failure,
        "varied_inputs": list(report.varied_inputs),
        "method": report.method,
        "fallback": report.fallback,
        "joint_conditions": list(report.joint_conditions),
        "outputs_symbolic": [list(s) for s in report.outputs_symbolic],
        "symbolic_passes": report.symbolic_passes,
        "upsampling": report.upsampling,
    }


def _dim_to_dict(d: DimSizes) -> dict[str, Any]:
    return {
        "dim": d.dim,
        "label": d.label,
        "given": d.given,
        "minimum": d.minimum,
        "maximum": d.maximum,
        "step": d.step,
        "accepted": [[a, b] for a, b in d.accepted],
        "probed_up_to": d.probed_up_to,
        "output_depends": d.output_depends,
        "output_samples": [
            {"size": n, "outputs": [list(s) for s in shapes]} for n, shapes in d.output_samples
        ],
        "below_minimum": d.below_minimum,
        "above_maximum": d.above_maximum,
        "valid": None
        if d.valid is None
        else [{"start": p.start, "step": p.step, "stop": p.stop} for p in d.valid],
        "method_detail": d.method_detail,
    }


def render_sizes_json(report: SizesReport) -> str:
    return printable_json(json.dumps(sizes_to_dict(report), indent=2, ensure_ascii=False)) + "\n"


def render_sizes_text(report: SizesReport) -> str:
    if report.method == "symbolic":
        how = (
            f"exact, from the conditions of {report.symbolic_passes} symbolic "
            f"pass{'es' if report.symbolic_passes != 1 else ''}"
        )
        extra = report.probes - report.symbolic_passes
        if extra:
            how += f" and {extra} size{'s' if extra != 1 else ''} run one by one"
        probed = [d.label for d in report.dims if d.valid is None]
        if probed:
            how += f" (exact except {', '.join(probed)}: probed, see below)"
    else:
        how = f"probed on {report.device} ({report.probes} passes)"
    lines = [
        report.summary,
        "",
        f"input {_shape(report.input_shape)}, {report.mode} mode, {how}, {report.seconds:.2f} s",
    ]
    if report.fallback:
        lines.append(f"  probing, because {report.fallback}")
    if len(report.varied_inputs) > 1:
        positions = ", ".join(str(i) for i in report.varied_inputs)
        lines.append(f"  inputs {positions} (same shape) varied together")
    if report.given_failure:
        lines.append(f"  the given input fails: {report.given_failure}")
    for d in report.dims:
        where = f"dim {d.dim}, " if d.dim >= 0 else ""
        lines.append(f"  {d.label} ({where}given {d.given}): {describe_dim(d)}")
        if d.method_detail:
            lines.append(f"      {d.method_detail}")
        elif d.maximum is None and d.minimum is not None:
            lines.append(
                f"      every size probed up to {d.probed_up_to} (and {2 * d.probed_up_to}, "
                f"{4 * d.probed_up_to}) works past the minimum"
                if d.step == 1
                else f"      pattern checked up to {d.probed_up_to} (and beyond)"
            )
        if d.below_minimum:
            lines.append(
                f"      at {d.label}={d.minimum - 1 if d.minimum else '?'}: {d.below_minimum}"
            )
        if d.above_maximum:
            lines.append(f"      at {d.label}={(d.maximum or 0) + 1}: {d.above_maximum}")
        if d.output_depends:
            samples = "; ".join(
                f"{d.label}={n} → {join_shapes(shapes, _shape)}" for n, shapes in d.output_samples
            )
            lines.append(f"      output depends on {d.label}: {samples}")
    if report.joint_conditions:
        joint = "; ".join(readable(c) for c in report.joint_conditions)
        lines.append(f"  jointly (the dims trade off): {joint}")
    if report.outputs_symbolic:
        lines.append(
            "output "
            + _join_formulas(report.outputs_symbolic)
            + (f" because {report.fixed_by}" if report.fixed_by else "")
        )
    elif report.output_constant and report.outputs:
        text = "output always " + join_shapes(report.outputs, _shape)
        if report.fixed_by:
            text += f" because {report.fixed_by}"
        lines.append(text)
    if report.upsampling:
        lines.append(f"warning: {report.upsampling}")
    return printable("\n".join(lines)) + "\n"


def _join_formulas(shapes: tuple[tuple[str, ...], ...]) -> str:
    """Like ``join_shapes`` for formulas: a run of equal ones once with its count."""
    parts = []
    for shape, group in itertools.groupby(shapes):
        count = len(list(group))
        parts.append((f"{count} × " if count > 1 else "") + readable_shape(shape, ", "))
    return " ".join(parts)
