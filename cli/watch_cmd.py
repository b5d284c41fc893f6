"""``netinspect watch MODEL``: re-inspect on every save of the model's files."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Annotated, NoReturn

import typer

from .app import (
    DebugOption,
    app,
    eprint,
    fail,
    handle_errors,
    output_width,
    stdout_is_tty,
    use_color,
)
from .inspect_cmd import (
    AllowImportOption,
    CollapseOption,
    ColumnsOption,
    DepthOption,
    DeviceOption,
    DtypeOption,
    ExplainOption,
    ForwardArgOption,
    InputOption,
    WeightsOption,
)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


@app.command("watch")
def watch_command(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="path/to/file.py:Class, a YAML config, or a local package.module:Class.",
        ),
    ],
    inputs: InputOption = None,
    device: DeviceOption = "auto",
    dtype: DtypeOption = None,
    depth: DepthOption = None,
    weights: WeightsOption = None,
    allow_import: AllowImportOption = None,
    forward_args: ForwardArgOption = None,
    explain: ExplainOption = False,
    columns: ColumnsOption = None,
    collapse: CollapseOption = None,
    debug: DebugOption = False,
) -> None:
    """Re-inspect MODEL each time its file, its config or a local module it imports is saved.

    torch is imported once; each run is a fresh fork, so edits are always picked up and a
    crash or a syntax error is shown without stopping the watch. Rows whose shapes or params
    changed since the last successful run are marked. Ctrl-C stops (exit 130).
    """
    with handle_errors(debug):
        from netinspect.render import DEFAULT_COLUMNS, RenderOptions, parse_columns
        from netinspect.specs import parse_forward_args, parse_input_specs

        # Everything that can be checked without torch is checked first.
        kwargs = parse_forward_args(forward_args or [])
        if inputs:
            parse_input_specs(list(inputs))
        try:
            chosen_columns = parse_columns(columns) if columns is not None else DEFAULT_COLUMNS
        except ValueError as exc:
            fail(f"--columns: {exc}")

        from netinspect.watch.fork import InspectJob
        from netinspect.watch.session import ScreenOptions, initial_files, warm_up, watch

        files = initial_files(model, str(weights) if weights else None)
        job = InspectJob(
            target=model,
            inputs=tuple(inputs) if inputs else None,
            device=device,
            dtype=dtype,
            weights=str(weights) if weights else None,
            allow_import=tuple(allow_import or ()),
            forward_args=kwargs,
        )
        screen = ScreenOptions(
            render=RenderOptions(width=output_width(), color=use_color(), columns=chosen_columns),
            explain=explain,
            depth=depth,
            collapse=collapse if collapse is not None else True,
            clear=stdout_is_tty(),
        )
        # A plain `kill` stops the watch like Ctrl-C does: the running child is killed first.
        signal.signal(signal.SIGTERM, _terminate)
        eprint("netinspect: importing torch once for the whole watch ...")
        warm_up(job)
        watch(job, screen, files, out=sys.stdout, err=sys.stderr, debug=debug)
