"""``netinspect validate CONFIG...``: check YAML configs without running them (pre-commit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import EXIT_OK, EXIT_REGRESSION, DebugOption, app, emit, eprint, handle_errors
from .inspect_cmd import (
    AllowImportOption,
)


@app.command("validate")
def validate_command(
    configs: Annotated[list[Path], typer.Argument(help="YAML config files to check.")],
    allow_import: AllowImportOption = None,
    debug: DebugOption = False,
) -> None:
    """Check configs: parse, resolve every layer and build on the meta device (no forward
    pass, no memory). One line per config on stdout; exit 1 if any is invalid."""
    with handle_errors(debug):
        from netinspect.errors import UsageError
        from netinspect.render.safe import printable
        from netinspect.sources.config import load_config_target
        from netinspect.sources.target import is_config_path

        invalid = 0
        for path in configs:
            text = str(path)
            try:
                if not is_config_path(text):
                    raise UsageError(f"{text}: not a YAML config (.yaml or .yml)")
                # Read and checked before torch is imported: a hostile file costs nothing.
                target = load_config_target(text, allow_import=tuple(allow_import or ()))
                from netinspect.sources.build import build_model

                model = build_model(target, "meta")
            except UsageError as exc:
                invalid += 1
                # Every error of the file, one line each, as linters report them.
                for each in getattr(exc, "errors", (exc,)):
                    emit(printable(f"invalid: {each}", one_line=True), nl=True)
                continue
            from netinspect.pipeline.assemble import count_parameters

            params = count_parameters(model).params
            # The config's name: and the file name are text from files: escapes shown, not run.
            line = f"ok: {text} ({target.name}: {type(model).__name__}, {params:,} params)"
            emit(printable(line, one_line=True), nl=True)
        if invalid:
            eprint(f"netinspect: {invalid} of {len(configs)} config(s) invalid")
        raise typer.Exit(EXIT_REGRESSION if invalid else EXIT_OK)
