"""``netinspect inspect MODEL`` (also plain ``netinspect MODEL``) and ``netinspect list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from netinspect.render import OutputFormat, render_report
from netinspect.render.options import Column

from .app import (
    EXIT_FORWARD_FAILED,
    DebugOption,
    app,
    emit,
    eprint,
    fail,
    handle_errors,
    one_stream,
)
from .output import (
    collapse_by_default,
    format_for_path,
    is_stdout,
    output_render_options,
    pin_path,
    write_output,
)
from .train_options import (
    CheckpointOption,
    GpuMemoryOption,
    GpuOption,
    OptimizerOption,
    TrainOption,
    train_options,
)

InputOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--input",
        "-i",
        metavar="SPEC",
        help="Input spec, repeatable: 1x3x224x224, 1,3,224,224, 1x128:int64, text=1x10, "
        "[3x224x224,3x200x300] (a list input). A name makes a dim symbolic: Bx3xHxW shows "
        "every shape as a formula of B, H, W. Default: the model's usual input.",
    ),
]
HintOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--hint",
        metavar="NAME=SIZE",
        help="The size a named --input dim takes on the pass, repeatable: --hint H=224 "
        "(or H=224,W=320). Default: the model's default input there, else batch 2, "
        "spatial 224, length 128.",
    ),
]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        "-d",
        metavar="DEVICE",
        help="auto (meta; real values only where needed, see docs/concepts.md) | cpu | cuda | cuda:N "
        "| meta (weights never built for real)",
    ),
]
DtypeOption = Annotated[
    Optional[str],
    typer.Option(
        "--dtype",
        metavar="DTYPE",
        help="float32 | float16 | bfloat16 | float64 for params and inputs",
    ),
]
AllowImportOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--allow-import",
        metavar="PREFIX",
        help="Let a config's _target_ import from this module prefix (repeatable).",
    ),
]

DepthOption = Annotated[
    Optional[int],
    typer.Option("--depth", min=0, metavar="N", help="Fold rows deeper than N into their parent."),
]

WeightsOption = Annotated[
    Optional[Path],
    typer.Option(
        "--weights",
        metavar="PATH",
        help="Checkpoint to load: .pt/.pth/.bin/.ckpt (torch.load weights_only=True), "
        ".safetensors, a sharded *.index.json or a model directory. A mismatch prints one row "
        "per tensor and exits 2.",
    ),
]

WeightsPartialOption = Annotated[
    bool,
    typer.Option(
        "--weights-partial",
        help="With --weights: load the tensors that fit and report the rest (which layers "
        "keep their random initialisation) instead of failing with exit 2.",
    ),
]

ForwardArgOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--arg",
        metavar="NAME=VALUE",
        help="Non-tensor forward argument, repeatable: name=value, value a YAML scalar "
        "(--arg return_loss=false --arg steps=3 --arg mask=null).",
    ),
]

ExplainOption = Annotated[
    bool,
    typer.Option(
        "--explain",
        help="Show the arithmetic behind each output shape, with cumulative stride and "
        "receptive field (JSON: the 'explain' key).",
    ),
]

ColumnsOption = Annotated[
    Optional[str],
    typer.Option(
        "--columns",
        metavar="LIST",
        help="Per-layer columns, comma-separated: shapes,params,macs,flops,memory "
        "(default shapes,params). JSON always carries every value.",
    ),
]


FormatOption = Annotated[
    Optional[OutputFormat],
    typer.Option(
        "--format",
        "-f",
        help="Output format. Default: table, or what --output's extension says (.json, .md, "
        ".html, .mmd).",
    ),
]
OutputOption = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the report to FILE (a regular file is replaced atomically; - is stdout).",
    ),
]
CollapseOption = Annotated[
    Optional[bool],
    typer.Option(
        "--collapse/--no-collapse",
        help="Fold consecutive identical blocks into one row (layer1.0–2 × 3). "
        "Default: on for table and markdown, off for JSON; html and mermaid fold them in the "
        "graph themselves.",
    ),
]
GraphOption = Annotated[
    bool,
    typer.Option(
        "--graph", help="markdown: add the data-flow graph as a Mermaid block (GitHub renders it)."
    ),
]


# Formats whose text shows the report's notes and failure in words.
_SHOWS_NOTES = (OutputFormat.table, OutputFormat.markdown)


def read_config_early(target: str) -> None:
    """A YAML config is read (its size, nesting and expansion limits checked) before torch is
    imported, so a hostile file is refused in a fraction of a second, as by ``validate``."""
    from netinspect.sources.target import is_config_path

    if is_config_path(target.strip()):
        from netinspect.sources.config import read_config

        read_config(target.strip())


@app.command("inspect")
def inspect_command(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="torchvision name (vgg16), timm:NAME, hf:MODEL_TYPE|PATH|ORG/NAME "
            "(options after commas: hf:llama,task=causal-lm,num_hidden_layers=2), "
            "path/to/file.py:Class, package.module:Class, a YAML config, or a checkpoint "
            "(.pt/.pth/.bin/.ckpt, .safetensors, a sharded *.index.json, a model directory) "
            "to list its tensors.",
        ),
    ],
    inputs: InputOption = None,
    hint: HintOption = None,
    device: DeviceOption = "auto",
    dtype: DtypeOption = None,
    depth: DepthOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    weights: WeightsOption = None,
    weights_partial: WeightsPartialOption = False,
    allow_import: AllowImportOption = None,
    forward_args: ForwardArgOption = None,
    explain: ExplainOption = False,
    columns: ColumnsOption = None,
    collapse: CollapseOption = None,
    graph: GraphOption = False,
    train: TrainOption = False,
    optimizer: OptimizerOption = "adamw",
    gpu: GpuOption = None,
    gpu_memory: GpuMemoryOption = None,
    checkpoint: CheckpointOption = None,
    debug: DebugOption = False,
) -> None:
    """Inspect MODEL: per-layer shapes and params, the flatten point, totals."""
    with handle_errors(debug):
        from netinspect.specs import parse_forward_args, parse_hints

        # Before importing torch: a malformed --arg or --hint costs nothing.
        kwargs = parse_forward_args(forward_args or [])
        hints = parse_hints(hint or [])
        from netinspect.sources.checkpoint.detect import is_checkpoint_target

        if is_checkpoint_target(model):
            from .checkpoint_cmd import show_checkpoint

            show_checkpoint(model, fmt, output, depth, weights, inputs)
        read_config_early(model)
        training = train_options(train, optimizer, gpu, gpu_memory, checkpoint)

        from netinspect.analysis.layers import collapse_repeats, fold_to_depth
        from netinspect.errors import ForwardFailed, WeightsMismatch
        from netinspect.pipeline.run import inspect_model
        from netinspect.render import DEFAULT_COLUMNS, parse_columns

        try:
            chosen_columns = parse_columns(columns) if columns is not None else DEFAULT_COLUMNS
            if training is not None and columns is None:
                chosen_columns = (*chosen_columns, Column.train)
        except ValueError as exc:
            fail(f"--columns: {exc}")
        exit_code = 0
        typed_output, output = output, pin_path(output)
        try:
            report = inspect_model(
                model,
                inputs=list(inputs) if inputs else None,
                device=device,
                dtype=dtype,
                weights=str(weights) if weights else None,
                weights_partial=weights_partial,
                allow_import=tuple(allow_import or ()),
                forward_args=kwargs,
                hints=hints or None,
                fast_imports=True,  # a cold start: the process is the CLI's own
                train=training,
            )
        except WeightsMismatch as exc:
            from .checkpoint_cmd import show_weights_mismatch

            show_weights_mismatch(exc, fmt, output)
        except ForwardFailed as exc:
            report = exc.report
            exit_code = EXIT_FORWARD_FAILED
            if debug:
                import traceback

                # The model's own traceback (the cause), for --debug only.
                traceback.print_exception(exc.__cause__ or exc)
        if explain:
            from netinspect.analysis.explain import explain_report

            # On the full report: the receptive field needs the rows that --depth hides.
            report = explain_report(report)
        if depth is not None:
            report = fold_to_depth(report, depth)
        if output is not None and is_stdout(output):
            # ``-o -`` and ``-o /dev/stdout`` mean stdout itself: no temp file, no rename.
            output = None
        if fmt is None:
            fmt = format_for_path(output)
        if collapse if collapse is not None else collapse_by_default(fmt):
            report = collapse_repeats(report)
        text = render_report(report, fmt, output_render_options(output, chosen_columns, graph))
        write_output(text, output, f"{fmt.value} report", typed_output)
        # The table and markdown show the notes and the failure; on one terminal they are
        # not printed twice.
        shown = output is None and fmt in _SHOWS_NOTES and one_stream()
        for note in () if shown else report.notes:
            eprint(f"netinspect: note: {note}")
        if report.error is not None and not shown:
            eprint(f"netinspect: error: forward pass failed: {report.error.message}")
        raise typer.Exit(exit_code)


@app.command("list")
def list_command(
    family: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[FAMILY|timm|hf]",
            help="A torchvision family (classification | detection | segmentation | video | "
            "optical_flow | quantization), timm (its model names) or hf (transformers model "
            "types).",
        ),
    ] = None,
    pattern: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[PATTERN]",
            help="Only names matching this shell pattern (resnet*), or containing this text.",
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """List model names: torchvision's (optionally one family), timm's or transformers' types."""
    with handle_errors(debug):
        import fnmatch

        if family == "timm":
            from netinspect.sources.timm import list_timm_models

            names = list_timm_models(pattern)
        else:
            if family == "hf":
                from netinspect.sources.hf import list_model_types

                names = list_model_types()
            else:
                from netinspect.sources.torchvision import FAMILIES, model_families

                if family is not None and family not in FAMILIES:
                    fail(
                        f"unknown family {family!r} (choose from {', '.join(FAMILIES)}, timm or hf)"
                    )
                families = model_families()
                names = sorted(n for n, f in families.items() if family is None or f == family)
            if pattern:
                wild = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
                names = [n for n in names if fnmatch.fnmatchcase(n, wild)]
        if pattern and not names:
            fail(f"no {family or 'torchvision'} model matches {pattern!r}")
        emit("\n".join(names), nl=True)
