"""Where a command's payload goes: stdout or a file (``-o``), the format a file's suffix asks
for, and how it is rendered for that place."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from netinspect.render import PICTURE_FORMATS, OutputFormat, RenderOptions
from netinspect.render.options import Column

from .app import emit, eprint, fail, output_width, use_color

_SUFFIX_FORMATS = {
    ".json": OutputFormat.json,
    ".md": OutputFormat.markdown,
    ".markdown": OutputFormat.markdown,
    ".html": OutputFormat.html,
    ".htm": OutputFormat.html,
    ".mmd": OutputFormat.mermaid,
    ".mermaid": OutputFormat.mermaid,
}


def is_stdout(output: Path) -> bool:
    """``-o -``, ``-o /dev/stdout`` (or its /dev/fd, /proc spelling) name standard output."""
    return str(output) in ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def format_for_path(output: Path | None) -> OutputFormat:
    """``-o report.json`` means JSON, ``.md`` markdown, ``.html`` the page, ``.mmd`` Mermaid,
    unless --format says otherwise."""
    suffix = output.suffix.lower() if output is not None else ""
    return _SUFFIX_FORMATS.get(suffix, OutputFormat.table)


def collapse_by_default(fmt: OutputFormat) -> bool:
    return fmt not in (OutputFormat.json, *PICTURE_FORMATS)


def output_render_options(
    output: Path | None, columns: Sequence[Column], graph: bool
) -> RenderOptions:
    """How a payload is rendered for where it goes: the terminal's width and colour on stdout
    (``-o -`` included), 100 columns and no colour in a file."""
    to_terminal = output is None or is_stdout(output)
    return RenderOptions(
        width=output_width() if to_terminal else 100,
        color=to_terminal and use_color(),
        columns=tuple(columns),
        graph=graph,
    )


def pin_path(path: Path | None) -> Path | None:
    """A user's file path made absolute now, before any model runs: a forward that changes
    directory must not move where the output goes. Stdout spellings stay as they are."""
    if path is None or is_stdout(path):
        return path
    return Path(os.path.abspath(path))


def write_output(text: str, output: Path | None, what: str, shown: Path | None = None) -> None:
    """The payload to FILE or to stdout (``-o -``, ``/dev/stdout``). A regular file is
    replaced atomically; a FIFO or a device is written in place (``fileio.write_output``).
    ``shown``: the path as the user typed it, for the messages."""
    if output is None or is_stdout(output):
        emit(text)
        return
    from netinspect.fileio import write_output as write_file

    shown = shown or output
    try:
        write_file(output, text)
    except OSError as exc:
        fail(f"cannot write {shown}: {exc.strerror or exc}")
    eprint(f"netinspect: wrote {what} to {shown}")
