"""``netinspect FILE`` for a checkpoint (``.pt``/``.pth``/``.bin``/``.ckpt``, ``.safetensors``,
a sharded index, a model directory): what it holds, rendered as table, markdown or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from netinspect.render import OutputFormat, RenderOptions

from .app import EXIT_OK, EXIT_REGRESSION, fail, output_width, use_color
from .output import (
    format_for_path,
    is_stdout,
    output_render_options,
    write_output,
)

if TYPE_CHECKING:
    from netinspect.errors import WeightsMismatch


def render_checkpoint(
    path: str, fmt: OutputFormat, options: RenderOptions, depth: int | None
) -> str:
    """The checkpoint report as text. The html and mermaid formats draw a model's data flow,
    which a checkpoint does not have: they are refused with exit 2."""
    if fmt in (OutputFormat.html, OutputFormat.mermaid):
        fail(
            f"--format {fmt.value} draws a model's data flow, which a checkpoint does not have: "
            "use table, markdown or json (or inspect the model with --weights)"
        )
    from netinspect.pipeline.checkpoint import inspect_checkpoint
    from netinspect.render.checkpoint import (
        render_checkpoint_json,
        render_checkpoint_markdown,
        render_checkpoint_table,
    )

    report = inspect_checkpoint(path)
    match fmt:
        case OutputFormat.table:
            return render_checkpoint_table(report, options, depth=depth)
        case OutputFormat.markdown:
            return render_checkpoint_markdown(report, depth=depth)
        case OutputFormat.json:
            return render_checkpoint_json(report)
        case _:
            raise AssertionError(fmt)


def refuse_model_options(path: str, weights: Path | None, inputs: list[str] | None) -> None:
    if weights is not None:
        fail(f"{path} is a checkpoint: --weights loads one into a model, so name the model first")
    if inputs:
        fail(f"{path} is a checkpoint: it has no forward pass for --input")


def show_checkpoint(
    path: str,
    fmt: OutputFormat | None,
    output: Path | None,
    depth: int | None,
    weights: Path | None,
    inputs: list[str] | None,
) -> NoReturn:
    """``netinspect FILE`` on a checkpoint: its tensors, not a model's layers."""
    refuse_model_options(path, weights, inputs)
    if output is not None and is_stdout(output):
        output = None
    chosen = fmt if fmt is not None else format_for_path(output)
    options = output_render_options(output, (), False)
    write_output(render_checkpoint(path, chosen, options, depth), output, "checkpoint report")
    raise typer.Exit(0)


def show_weights_mismatch(
    exc: WeightsMismatch, fmt: OutputFormat | None, output: Path | None
) -> NoReturn:
    """Weights that do not fit: one row per tensor on stdout (or --output), then the error
    line on stderr and exit 2."""
    from netinspect.render.weights import (
        render_weights_json,
        render_weights_markdown,
        render_weights_table,
    )

    report = exc.report
    if output is not None and is_stdout(output):
        output = None
    chosen = fmt if fmt is not None else format_for_path(output)
    match chosen:
        case OutputFormat.json:
            text = render_weights_json(report)
        case OutputFormat.markdown:
            text = render_weights_markdown(report)
        case _:
            text = render_weights_table(report, output_render_options(output, (), False))
    write_output(text, output, "weights report")
    fail(str(exc))


def diff_checkpoints(
    old: str,
    new: str,
    fmt: str | None,
    output: Path | None,
    allowed: tuple[str, ...],
) -> NoReturn:
    """A checkpoint on either side: tensor by tensor. Exit 0: the same; 1: they differ."""
    from netinspect.compare.checkpoints import diff_tensors
    from netinspect.render.checkpoint_diff import render_tensor_diff_json, render_tensor_diff_table

    if fmt is None and output is not None:
        fmt = {".json": "json", ".html": "html", ".htm": "html"}.get(output.suffix.lower())
    if fmt == "html":
        fail(
            "diff with a checkpoint compares tensors: use --format table or json (html draws layers)"
        )
    diff = diff_tensors(old, new, allow_import=allowed)
    if fmt == "json":
        text = render_tensor_diff_json(diff)
    else:
        text = render_tensor_diff_table(
            diff, RenderOptions(width=output_width(), color=use_color())
        )
    write_output(text, output, "checkpoint diff")
    raise typer.Exit(EXIT_OK if diff.is_same else EXIT_REGRESSION)
