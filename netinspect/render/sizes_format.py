"""Renderers for ``netinspect sizes``: text for people, a dict for ``--format json``. Pure."""

from __future__ import annotations

import json
from typing import Any

from netinspect.analysis.sizes import DimSizes, SizesReport, describe_dim, join_shapes
from netinspect.render.safe import printable, printable_json

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
    }


def render_sizes_json(report: SizesReport) -> str:
    return printable_json(json.dumps(sizes_to_dict(report), indent=2, ensure_ascii=False)) + "\n"


def render_sizes_text(report: SizesReport) -> str:
    lines = [
        report.summary,
        "",
        f"input {_shape(report.input_shape)}, {report.mode} mode, probed on {report.device} "
        f"({report.probes} passes, {report.seconds:.2f} s)",
    ]
    if len(report.varied_inputs) > 1:
        positions = ", ".join(str(i) for i in report.varied_inputs)
        lines.append(f"  inputs {positions} (same shape) varied together")
    if report.given_failure:
        lines.append(f"  the given input fails: {report.given_failure}")
    for d in report.dims:
        lines.append(f"  {d.label} (dim {d.dim}, given {d.given}): {describe_dim(d)}")
        if d.maximum is None and d.minimum is not None:
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
    if report.output_constant and report.outputs:
        text = "output always " + join_shapes(report.outputs, _shape)
        if report.fixed_by:
            text += f" because {report.fixed_by}"
        lines.append(text)
    return printable("\n".join(lines)) + "\n"
