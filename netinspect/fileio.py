"""Writing files safely, and reading JSON within limits.

A regular file is replaced atomically (temp file in the same directory, fsync, rename): a
crash, Ctrl-C or SIGTERM never leaves a half-written file or a temp file behind. Only regular
files (or new paths) are replaced that way: renaming over a FIFO or a device node would turn
it into a regular file, so ``write_output`` writes those in place. Directories are never
created here: a missing one is an error, as for a shell's ``>``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

# JSON read back from files (saved reports, baselines): anything past these is refused.
# Reports nest about 6 deep; counts fit in 20 digits (int64 is 19).
MAX_JSON_DEPTH = 100
MAX_JSON_INT_DIGITS = 30
# Saved reports and baselines read back: the file's size, its rows, one string's length. A
# report of the largest models is a few MB with tens of thousands of rows.
MAX_JSON_FILE_BYTES = 32 * 1024 * 1024
MAX_REPORT_LAYERS = 100_000
MAX_JSON_STRING_CHARS = 1_000_000


class NotRegularFile(OSError):
    """Something other than a regular file sits where one is to be replaced."""


class JsonTooComplex(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH`` or holding an over-long number."""


def file_kind(mode: int) -> str:
    """What ``mode`` (from ``os.lstat``) is, in words: "a symbolic link", "a FIFO", ..."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_directory(directory: Path) -> None:
    """The directory a file goes into must exist; say which part of the path is wrong."""
    if directory.is_dir():
        return
    blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{blocker} is a file, not a directory")
    raise FileNotFoundError(
        errno.ENOENT, f"directory {directory} does not exist (netinspect does not create it)"
    )


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Create or atomically replace the regular file ``path`` (its directory must exist).

    ``path`` itself must be a regular file or absent: a symbolic link (dangling or looping
    too), a directory, a FIFO or a device there raises ``NotRegularFile``, and nothing is
    written through it."""
    target = Path(path)
    try:
        mode: int | None = os.lstat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):  # missing; _check_directory says why
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise NotRegularFile(errno.EEXIST, f"{target} is {file_kind(mode)}, not a regular file")
    directory = target.parent if str(target.parent) else Path(".")
    _check_directory(directory)
    # The temp name stays short: a 250-byte name plus mkstemp's 8 characters and ".tmp" would
    # pass the file system's 255-byte limit where the name itself fits.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes the file 0600; keep the replaced file's mode, else the umask default.
        if mode is not None:
            new_mode = mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            new_mode = 0o666 & ~umask
        os.chmod(tmp, new_mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        # KeyboardInterrupt and the CLI's SIGTERM exception land here too.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """``--output``: what ``open(path, "w")`` would reach, written safely.

    A symbolic link is followed (the link stays, its target is replaced). A regular file or a
    new path is replaced atomically. A FIFO or a character device (``/dev/null``, a terminal,
    ``/proc/self/fd/N`` of a pipe) is written in place, as a shell's ``>`` would. A directory,
    block device or socket is refused. Raises OSError (``strerror`` says why)."""
    target = Path(path)
    # Follows links; a loop raises OSError(ELOOP), which the caller reports.
    try:
        mode: int | None = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):  # missing; _check_directory says why
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"{target} is a directory")
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        # No O_CREAT, no O_TRUNC: a stream or device, written as it is.
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise NotRegularFile(
            errno.EINVAL,
            f"{target} is {file_kind(mode)}: only a regular file, a FIFO or a character device "
            "can be written",
        )
    if target.is_symlink():
        # Write through the link (a dangling one names the file to create), keep the link.
        target = Path(os.path.realpath(target))
    write_text_atomic(target, text)


def check_json_file_size(size: int) -> None:
    """Refuse a saved report or baseline larger than ``MAX_JSON_FILE_BYTES`` before reading it."""
    if size > MAX_JSON_FILE_BYTES:
        raise JsonTooComplex(
            f"{size:,} bytes, more than the {MAX_JSON_FILE_BYTES // (1024 * 1024)} MiB "
            "a saved report or baseline may have"
        )


def check_report_size(report: Any) -> None:
    """Refuse a report (or a baseline's view) with more than ``MAX_REPORT_LAYERS`` rows."""
    layers = report.get("layers") if isinstance(report, dict) else None
    if isinstance(layers, list) and len(layers) > MAX_REPORT_LAYERS:
        raise JsonTooComplex(
            f"{len(layers):,} layers, more than the {MAX_REPORT_LAYERS:,} a report may have"
        )


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_JSON_INT_DIGITS:
        raise JsonTooComplex(f"a number with {digits} digits (the limit is {MAX_JSON_INT_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonTooComplex(f"the number {text[:20]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise JsonTooComplex(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """``json.loads`` with limits: nesting deeper than ``MAX_JSON_DEPTH`` and integers longer
    than ``MAX_JSON_INT_DIGITS`` digits raise ``JsonTooComplex``; so do NaN, Infinity and
    floats that overflow (1e400). Malformed JSON raises ``json.JSONDecodeError`` as usual."""
    _check_depth(text)
    # No run of digits that long anywhere: json's own (C) integer parsing is safe. Otherwise
    # (rare) the run may sit inside a string, and a slower hook decides, for numbers only.
    parse_int = None if _LONG_DIGITS.search(text) is None else _bounded_int
    try:
        return json.loads(
            text, parse_int=parse_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except RecursionError:  # pragma: no cover - _check_depth refuses this first
        raise JsonTooComplex(f"nested more than {MAX_JSON_DEPTH} levels deep") from None


_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_JSON_INT_DIGITS + 1}}}")


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than the limit before ``json.loads`` recurses into it.

    Linear and mostly C: keep only brackets, quotes and backslashes, drop the strings (a
    bracket inside a name is not nesting), then peel one level of empty ``[]``/``{}`` pairs
    per pass. A report needs about 6 passes; past the limit, the rest is too deep."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    skeleton = _STRING.sub("", text.translate(_SKELETON))
    for _ in range(MAX_JSON_DEPTH):
        peeled = skeleton.replace("[]", "").replace("{}", "")
        if not peeled:
            return
        if peeled == skeleton:
            # Unbalanced: the JSON is malformed. Its opening run still must not be too deep.
            depth = 0
            for char in skeleton:
                depth += 1 if char in "[{" else -1
                if depth > MAX_JSON_DEPTH:
                    break
            else:
                return
            break
        skeleton = peeled
    raise JsonTooComplex(f"nested more than {MAX_JSON_DEPTH} levels deep")


# Everything ASCII but brackets, quotes and backslashes is deleted (other characters are never
# JSON syntax); then a JSON string, escapes included, is one match.
_SKELETON = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in '[]{}"\\'))
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
