"""Entry point: ``netinspect MODEL ...`` is shorthand for ``netinspect inspect MODEL ...``."""

from __future__ import annotations

import sys

import typer.main

from . import check_cmd, config_cmd, inspect_cmd, sizes_cmd  # noqa: F401  (registers the commands)
from .app import app

_GLOBAL_OPTIONS = {"--help", "-h", "--version"}


def route_default_command(argv: list[str], commands: set[str]) -> list[str]:
    """Prepend ``inspect`` unless the first word is a command or a global option."""
    if argv and argv[0] not in commands and argv[0] not in _GLOBAL_OPTIONS:
        return ["inspect", *argv]
    return argv


def main() -> None:
    group = typer.main.get_command(app)
    commands = set(getattr(group, "commands", {}))
    group.main(args=route_default_command(sys.argv[1:], commands), prog_name="netinspect")


if __name__ == "__main__":
    main()
