"""``netinspect sizes MODEL --input 1x3xHxW``: which input sizes the model accepts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from netinspect.pipeline.train import TrainOptions

from .app import EXIT_FORWARD_FAILED, DebugOption, app, emit, eprint, handle_errors
from .inspect_cmd import (
    AllowImportOption,
    DtypeOption,
    HintOption,
)
from .train_options import (
    CheckpointOption,
    GpuMemoryOption,
    GpuOption,
    OptimizerOption,
    TrainOption,
    train_options,
)


class SizesFormat(str, Enum):
    text = "text"
    json = "json"


class Vary(str, Enum):
    all = "all"
    first = "first"


class Method(str, Enum):
    auto = "auto"
    symbolic = "symbolic"
    probe = "probe"


# Off a terminal (a CI log), a long run says how far it got this often, in seconds.
LOG_PROGRESS_EVERY_S = 30.0


@contextmanager
def _progress() -> Iterator[Callable[[int, str], None]]:
    """Yields ``update(passes, what)``. A terminal gets a live line on stderr, erased at the
    end; a log gets one line every ``LOG_PROGRESS_EVERY_S`` once a run lasts that long."""
    from rich.console import Console

    console = Console(stderr=True)
    start = time.monotonic()
    if console.is_terminal:
        with console.status("probing sizes", spinner="dots") as status:

            def show(passes: int, what: str) -> None:
                elapsed = time.monotonic() - start
                status.update(f"probing {what}: {passes} passes, {elapsed:.0f} s")

            yield show
        return
    last = start

    def log(passes: int, what: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= LOG_PROGRESS_EVERY_S:
            last = now
            eprint(f"netinspect: sizes: {passes} passes in {now - start:.0f} s, probing {what}")

    yield log


@app.command("sizes")
def sizes_command(
    model: Annotated[
        str,
        typer.Argument(
            help="torchvision name, timm:NAME, hf:TYPE|PATH|ORG/NAME, path/to/file.py:Class, "
            "package.module:Class, or YAML config."
        ),
    ],
    input_spec: Annotated[
        Optional[list[str]],
        typer.Option(
            "--input",
            "-i",
            metavar="SPEC",
            help="The input and its free dims: 1x3xHxW names them (each name is varied; the "
            "same name in several inputs moves together). A plain 1x3x224x224 varies H and W "
            "of the first input. Repeat it for a model with several inputs.",
        ),
    ] = None,
    hint: HintOption = None,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="auto: exact sets from symbolic passes, probing when the symbolic pass cannot "
            "run; symbolic: never probe; probe: try sizes one by one (the earlier method).",
        ),
    ] = Method.auto,
    up_to: Annotated[
        Optional[int],
        typer.Option(
            "--up-to",
            min=1,
            help="Probing: try each dim from 1 to N, at most 100,000 (default: 2x the given "
            "size, ≥ 64); the symbolic method lists accepted runs up to N.",
        ),
    ] = None,
    vary: Annotated[
        Vary,
        typer.Option(
            "--vary",
            help="all: vary every input shaped like the first together with it (two images "
            "that must match); first: vary the first input only.",
        ),
    ] = Vary.all,
    fmt: Annotated[
        SizesFormat, typer.Option("--format", "-f", help="Output format.")
    ] = SizesFormat.text,
    allow_import: AllowImportOption = None,
    train: TrainOption = False,
    optimizer: OptimizerOption = "adamw",
    gpu: GpuOption = None,
    gpu_memory: GpuMemoryOption = None,
    checkpoint: CheckpointOption = None,
    dtype: DtypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Find the input sizes MODEL accepts, exactly: per free dim the minimum, the maximum if
    bounded, the step, and whether the output shape depends on it (meta device, eval mode).
    With --train and --gpu: the largest batch (or the one named dim, 1xS:int64) whose training
    step fits that GPU."""
    with handle_errors(debug):
        training = train_options(train, optimizer, gpu, gpu_memory, checkpoint)
        if training is not None:
            _largest_fitting(model, input_spec, training, dtype, up_to, allow_import, fmt)
            return
        from netinspect.specs import parse_hints

        hints = parse_hints(hint or [])

        from netinspect.pipeline.sizes import find_sizes
        from netinspect.render.sizes_format import render_sizes_json, render_sizes_text

        with _progress() as progress:
            report = find_sizes(
                model,
                input_spec,
                hints=hints or None,
                up_to=up_to,
                allow_import=tuple(allow_import or ()),
                vary=vary.value,
                method=method.value,
                progress=progress,
                fast_imports=True,
            )
        match fmt:
            case SizesFormat.text:
                emit(render_sizes_text(report))
            case SizesFormat.json:
                emit(render_sizes_json(report))
        if all(d.minimum is None for d in report.dims):
            # Nothing the model accepts: the same exit code as a failing inspection.
            eprint(
                f"netinspect: error: no probed size works: {report.given_failure or report.summary}"
            )
            raise typer.Exit(EXIT_FORWARD_FAILED)


def _largest_fitting(
    model: str,
    input_spec: list[str] | None,
    training: TrainOptions,
    dtype: str | None,
    up_to: int | None,
    allow_import: list[str] | None,
    fmt: SizesFormat,
) -> None:
    """``sizes --train --gpu``: search meta training steps for the largest size that fits."""
    from netinspect.pipeline.fit_search import MAX_SIZE, find_largest_fitting
    from netinspect.render.fit_format import render_fit_json, render_fit_text

    with _progress() as progress:
        search = find_largest_fitting(
            model,
            list(input_spec) if input_spec else None,
            training,
            dtype=dtype,
            allow_import=tuple(allow_import or ()),
            up_to=up_to or MAX_SIZE,
            progress=progress,
        )
    match fmt:
        case SizesFormat.text:
            typer.echo(render_fit_text(search), nl=False)
        case SizesFormat.json:
            typer.echo(render_fit_json(search), nl=False)
    if search.largest is None:
        eprint(f"netinspect: error: not even {search.dim}=1 fits {search.gpu}")
        raise typer.Exit(1)
