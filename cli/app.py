"""The Typer app and what every command shares: error handling, output, exit codes.

Nothing here imports torch: ``netinspect --help`` and argument errors stay fast.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from netinspect import __version__
from netinspect.errors import NetinspectError, Terminated, describe_exception
from netinspect.torch_compat.typer_checks import LazyChecksGroup

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_FORWARD_FAILED = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"netinspect {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="netinspect",
    cls=LazyChecksGroup,
    help="Inspect PyTorch architectures: per-layer shapes, params, the flatten point.\n\n"
    "Run `netinspect MODEL` (same as `netinspect inspect MODEL`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Inspect PyTorch architectures: per-layer shapes, params, the flatten point."""


DebugOption = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]


# What the payload and messages use beyond ASCII, spelt in ASCII for a stream whose encoding
# cannot show them (PYTHONIOENCODING=latin-1, LANG=C on an old Python).
_ASCII_SPELLINGS = str.maketrans(
    {
        "×": "x", "≥": ">=", "≤": "<=", "≠": "!=", "−": "-", "–": "-", "—": "-",
        "→": "->", "←": "<-", "…": "...", "·": "*", "⌊": "floor(", "⌋": ")",
        "⌈": "ceil(", "⌉": ")", "◀": "<-", "✖": "x", "✓": "ok", "•": "*", "│": "|",
        "─": "-", "━": "=", "└": "+", "├": "+", "┌": "+", "┐": "+", "┘": "+", "┤": "+",
        "↵": "\\n", "≈": "~", "∞": "inf", "²": "^2", "√": "sqrt", "∑": "sum",
    }
)  # fmt: skip


def for_stream(text: str, stream: object) -> str:
    """``text`` as ``stream``'s encoding can carry it: unchanged when it can, else with the
    ASCII spellings above and any other character as a ``\\u`` escape."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        fallback = text.translate(_ASCII_SPELLINGS)
        try:
            return fallback.encode(encoding, errors="backslashreplace").decode(encoding)
        except LookupError:
            return fallback.encode("ascii", errors="backslashreplace").decode("ascii")


def eprint(message: str) -> None:
    """One line on stderr; control characters from models and files are shown escaped."""
    from netinspect.render.safe import printable

    if sys.stderr is None:
        return  # stderr closed: nowhere to say anything
    line = for_stream(printable(message, one_line=True), sys.stderr)
    with contextlib.suppress(OSError, ValueError):  # a full or closed stderr: the code tells
        print(line, file=sys.stderr, flush=True)


def emit(text: str, nl: bool = False) -> None:
    """The payload on stdout. Closed, full or unwritable stdout is a one-line error (exit 2:
    the output the caller set up cannot take it), not a traceback."""
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False):
        fail("cannot write the output: stdout is closed (give -o FILE)")
    text = for_stream(text + ("\n" if nl else ""), stream)
    try:
        stream.write(text)
        stream.flush()
    except OSError as exc:
        fail(f"cannot write the output to stdout: {exc.strerror or exc}")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    eprint(f"netinspect: error: {message}")
    raise typer.Exit(code)


@contextmanager
def handle_errors(debug: bool) -> Iterator[None]:
    """Map library errors to one stderr line and a documented exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, Terminated):
            eprint("netinspect: terminated")
            raise typer.Exit(EXIT_TERMINATED) from None
        eprint("netinspect: interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except NetinspectError as exc:
        if debug:
            traceback.print_exc()
        # A config with several errors: one line each (ConfigErrors.errors), as linters do.
        for each in getattr(exc, "errors", ())[:-1]:
            eprint(f"netinspect: error: {each}")
        fail(str(getattr(exc, "errors", (exc,))[-1]), exc.exit_code)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        fail(
            f"internal error: {describe_exception(exc)} (a bug in netinspect; "
            "run with --debug for the traceback)",
            EXIT_INTERNAL,
        )


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (ValueError, OSError):  # closed
        return False


def stdout_is_tty() -> bool:
    return _is_tty(sys.stdout)


def stderr_is_tty() -> bool:
    return _is_tty(sys.stderr)


def one_terminal() -> bool:
    """stdout and stderr are both a terminal: a person reads them as one screen, so what the
    payload shows (notes, a failure) is not repeated on stderr. Piped or redirected, stderr
    keeps its copy for the log."""
    return stdout_is_tty() and stderr_is_tty()


def one_stream() -> bool:
    """stdout and stderr reach the same reader: one terminal, or one file or pipe (``2>&1``
    into a CI log). What the payload already says is then not repeated on stderr."""
    if one_terminal():
        return True
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # closed, or not a real file (a test's)
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


def use_color() -> bool:
    return stdout_is_tty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def output_width() -> int:
    if "COLUMNS" in os.environ:
        try:
            return max(40, int(os.environ["COLUMNS"]))
        except ValueError:
            pass
    if stdout_is_tty():
        return max(40, shutil.get_terminal_size((100, 24)).columns)
    return 100
