"""Entry point: ``netinspect MODEL ...`` is shorthand for ``netinspect inspect MODEL ...``."""

from __future__ import annotations

import difflib
import os
import signal
import sys
import threading

import typer
import typer.main

from . import (  # noqa: F401  (registers the commands)
    check_cmd,
    config_cmd,
    inspect_cmd,
    render_cmd,
    sizes_cmd,
    watch_cmd,
)
from .app import app

_GLOBAL_OPTIONS = {"--help", "-h", "--version"}


def route_default_command(argv: list[str], commands: set[str]) -> list[str]:
    """Prepend ``inspect`` unless the first word is a command or a global option."""
    if argv and argv[0] not in commands and argv[0] not in _GLOBAL_OPTIONS:
        return ["inspect", *argv]
    return argv


def _usage_error_types() -> tuple[type[Exception], ...]:
    """Typer's own parse errors: recent typer vendors click, older releases use click."""
    types: list[type[Exception]] = []
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type):
        types.append(vendored)
    try:
        import click

        types.append(click.ClickException)
    except ImportError:
        pass
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [typer.Abort]
    try:
        import click

        types.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(types)


def _raise_terminated(signum: int, frame: object) -> None:
    from netinspect.errors import Terminated

    raise Terminated()


def install_sigterm_handler() -> None:
    """SIGTERM (CI cancelling a job) unwinds like Ctrl-C: temp files removed, hooks taken off,
    exit 143. Without a handler the process would die where it stands."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def _global_option_suggestion(exc: Exception, argv: list[str]) -> str | None:
    """``--version`` for a misspelt global option given first (``netinspect --verison``)."""
    bad = getattr(exc, "option_name", None)
    if not bad or argv[:2] != ["inspect", bad]:
        return None
    close = difflib.get_close_matches(bad, sorted(_GLOBAL_OPTIONS - {"-h"}), n=1, cutoff=0.6)
    if not close:
        return None
    # inspect's own options may be suggested too (--verison is near --train): the closer wins.
    ratio = difflib.SequenceMatcher(None, bad, close[0]).ratio()
    others = getattr(exc, "possibilities", None) or ()
    if any(difflib.SequenceMatcher(None, bad, o).ratio() > ratio for o in others):
        return None
    return str(close[0])


def main() -> None:
    """Run the command; then end without waiting for threads a model's forward started."""
    try:
        _main()
    except SystemExit as exc:
        if not _foreign_threads():
            raise
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        _exit_now(code)
    if _foreign_threads():
        _exit_now(0)


def _foreign_threads() -> list[threading.Thread]:
    """Non-daemon threads still running besides the main one: netinspect starts none, so these
    are the model's. Python would wait for them at exit (forever, for a server loop)."""
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main_thread and not t.daemon]


def _exit_now(code: int) -> None:
    """Flush what was written and end the process without joining the model's threads."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _main() -> None:
    install_sigterm_handler()
    group = typer.main.get_command(app)
    commands = set(getattr(group, "commands", {}))
    argv = route_default_command(sys.argv[1:], commands)
    try:
        code = group.main(args=argv, prog_name="netinspect", standalone_mode=False)
    except _abort_types() as exc:
        from netinspect.errors import Terminated

        if isinstance(exc.__cause__ or exc.__context__, Terminated):
            print("netinspect: terminated", file=sys.stderr)
            sys.exit(143)
        print("netinspect: interrupted", file=sys.stderr)
        sys.exit(130)
    except _usage_error_types() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # A bare `netinspect` asks what the tool does: the help on stdout, exit 0, as
            # `netinspect --help` (pip, docker and kubectl answer a bare call the same way).
            print(exc.ctx.get_help())  # type: ignore[attr-defined]
            sys.exit(0)
        # Typer's own usage errors (an unknown option, --format yaml) follow the one-line rule.
        message = exc.format_message()  # type: ignore[attr-defined]
        # Typer's validation wraps its text ("Value error, 'yaml' is not one of ...").
        message = str(message).replace("Value error, ", "").rstrip(".")
        ctx = getattr(exc, "ctx", None)
        where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        close = _global_option_suggestion(exc, argv)
        if close:
            # `netinspect --verison` was routed to `inspect`, which has no such option.
            message = f"No such option: {getattr(exc, 'option_name', '')} (did you mean {close}?)"
            where = "; see 'netinspect --help'"
        from .app import eprint

        eprint(f"netinspect: error: {message}{where}")
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
