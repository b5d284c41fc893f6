"""``netinspect FILE`` for a checkpoint (``.pt``/``.pth``/``.bin``/``.ckpt``, ``.safetensors``,
a sharded index, a model directory): what it holds, rendered as table, markdown or JSON."""

from __future__ import annotations

from pathlib import Path

from netinspect.render import OutputFormat, RenderOptions

from .app import fail


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
