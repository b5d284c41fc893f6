"""Baselines for ``netinspect snapshot`` / ``check``: one JSON file per target.

A baseline holds only what ``compare_reports`` compares (``compare.comparable_view``) plus the
target and input specs it was made with: no timestamps, versions or machine paths, keys sorted
and indented, so that ``git diff`` of a baseline reads like the model change it records.
Files are replaced atomically (``fileio.write_text_atomic``): an interrupted update leaves the
old baseline byte for byte.

Nothing here imports torch at module level; ``check_target``/``snapshot_target`` import the
inspector when they run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from netinspect.compare.diff import ReportDiff, comparable_view
from netinspect.errors import BaselineError
from netinspect.fileio import (
    MAX_JSON_FILE_BYTES,
    MAX_JSON_STRING_CHARS,
    JsonTooComplex,
    NotRegularFile,
    check_json_file_size,
    check_report_size,
    file_kind,
    parse_json,
    write_text_atomic,
)
from netinspect.schema import load_schema
from netinspect.schema.validate import SchemaMismatch, check_against
from netinspect.sources.target import is_config_path

if TYPE_CHECKING:
    from netinspect.records import InspectionReport

BASELINE_SCHEMA_VERSION = 1
BASELINE_KIND = "netinspect-baseline"
DEFAULT_BASELINE_DIR = ".netinspect"

# "failed": the model's forward pass raised (exit 3): the model is broken, not reshaped, and
# no baseline is written for it, so --update is no fix. "error": the check itself could not
# run (no baseline, a corrupt one, a bad target: exit 2).
CheckStatus = Literal["ok", "regression", "failed", "updated", "created", "error"]


@dataclass(frozen=True, slots=True)
class Baseline:
    target: str
    # The --input specs it was made with; None: the model's default input.
    inputs: tuple[str, ...] | None
    # ``compare.comparable_view`` of the report.
    view: Mapping[str, Any]
    schema_version: int = BASELINE_SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """A target to snapshot or check."""

    # As the user wrote it: names the baseline file.
    target: str
    # What to load; differs from ``target`` when a relative path is resolved against the
    # directory of the pyproject.toml that listed it.
    location: str
    # --input specs (CLI or pyproject); None: the baseline's, else the model's default.
    inputs: tuple[str, ...] | None = None
    # Module prefixes a config's ``_target_`` may import (--allow-import, pyproject).
    allow_import: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckResult:
    target: str
    baseline: str
    status: CheckStatus
    diff: ReportDiff | None = None
    # One line, for statuses "error" and "failed" (the forward pass's failure).
    error: str | None = None
    exit_code: int = 0
    # "models/net.py:12": where the first differing row (or the failing one) was called.
    source: str | None = None


# --- naming ---------------------------------------------------------------------------------


def split_file_target(target: str) -> tuple[str, str | None] | None:
    """``(path, attr)`` of a config or ``file.py:Name`` target; None for torchvision/module."""
    if is_config_path(target):
        return target, None
    if ":" in target:
        location, _, attr = target.rpartition(":")
        if location.endswith(".py") or "/" in location or os.sep in location:
            return location, attr
    return None


def canonical_target(target: str, base: Path | None = None) -> str:
    """One spelling per target: ``./m/x.py:Net`` and ``m/x.py:Net`` share a baseline, and an
    absolute path is stored relative to ``base`` (default: the current directory)."""
    target = target.strip()
    parts = split_file_target(target)
    if parts is None:
        return target
    path, attr = parts
    if os.path.isabs(path):
        path = os.path.relpath(path, base or Path.cwd())
    path = os.path.normpath(path).replace(os.sep, "/")
    return path if attr is None else f"{path}:{attr}"


def baseline_filename(target: str) -> str:
    """A safe file name for ``target``: its own name when that is safe, otherwise a slug plus a
    short hash of the exact target, so that ``a/b.yaml`` and ``a_b.yaml`` never collide."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._-")[:80]
    if slug != target or not slug:
        digest = hashlib.sha256(target.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else digest
    return f"{slug}.json"


def baseline_path(directory: str | os.PathLike[str], target: str) -> Path:
    return Path(directory) / baseline_filename(canonical_target(target))


# --- reading and writing --------------------------------------------------------------------


def baseline_to_text(baseline: Baseline) -> str:
    document = {
        "kind": BASELINE_KIND,
        "schema_version": baseline.schema_version,
        "target": baseline.target,
        "inputs": None if baseline.inputs is None else list(baseline.inputs),
        "report": baseline.view,
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return _compact_shapes(text) + "\n"


# Indented JSON puts every dimension on its own line; a shape reads (and git-diffs) far better
# as one line. The patterns need a raw newline after "[", which JSON strings never contain, so
# only real arrays of integers (then arrays of such one-line arrays) are folded.
_INT_ARRAY = re.compile(r"\[\n\s*(-?\d+(?:,\n\s*-?\d+)*)\n\s*\]")
_SHAPE_ARRAY = re.compile(r"\[\n\s*(\[[-\d, ]*\](?:,\n\s*\[[-\d, ]*\])*)\n\s*\]")


def _compact_shapes(text: str) -> str:
    def join(match: re.Match[str]) -> str:
        return "[" + ", ".join(part.strip() for part in match.group(1).split(",\n")) + "]"

    return _SHAPE_ARRAY.sub(join, _INT_ARRAY.sub(join, text))


def baseline_from_report(
    target: str, inputs: tuple[str, ...] | None, report: InspectionReport | Mapping[str, Any]
) -> Baseline:
    return Baseline(target=canonical_target(target), inputs=inputs, view=comparable_view(report))


def parse_baseline(data: Any, path: str | os.PathLike[str]) -> Baseline:
    """Validate a loaded baseline document. Raises BaselineError naming ``path``."""
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise BaselineError(f'{path}: not a netinspect baseline (no "kind": "{BASELINE_KIND}")')
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BaselineError(f"{path}: corrupt baseline: bad schema_version {version!r}")
    if version > BASELINE_SCHEMA_VERSION:
        raise BaselineError(
            f"{path} was written by a newer netinspect (baseline schema_version {version}; this "
            f"version reads up to {BASELINE_SCHEMA_VERSION}): upgrade netinspect, or re-create "
            "it with `netinspect snapshot`"
        )
    # Version 1 is the first format, so there is nothing older to migrate yet. A later format
    # upgrades older documents here, before the checks below, and is read the same way.
    try:
        check_report_size(data.get("report"))
        check_against(data, load_schema("baseline"), max_string=MAX_JSON_STRING_CHARS)
    except JsonTooComplex as exc:
        raise BaselineError(f"{path}: refused: {exc}") from None
    except SchemaMismatch as exc:
        raise BaselineError(f"{path}: corrupt baseline: {exc}") from None
    target, inputs, view = data.get("target"), data.get("inputs"), data.get("report")
    if not isinstance(target, str) or not isinstance(view, dict):
        raise BaselineError(f'{path}: corrupt baseline: "target" or "report" is missing')
    if inputs is not None and not (
        isinstance(inputs, list) and all(isinstance(i, str) for i in inputs)
    ):
        raise BaselineError(f'{path}: corrupt baseline: "inputs" must be a list of specs or null')
    try:
        normalized = comparable_view(view)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"{path}: corrupt baseline: malformed report ({exc!r})") from None
    return Baseline(
        target=target,
        inputs=None if inputs is None else tuple(inputs),
        view=normalized,
        schema_version=BASELINE_SCHEMA_VERSION,
    )


def json_error_text(exc: json.JSONDecodeError) -> str:
    """``Expecting value, line 1 column 5``. Some of json's messages end in "at" themselves
    ("Unterminated string starting at"), so the position is not joined with another "at"."""
    return f"{exc.msg}: line {exc.lineno}, column {exc.colno}"


def _read_regular_file(path: Path) -> str:
    """The text of ``path`` if it is a regular file; never through a link, never blocking on a
    FIFO. Raises BaselineError naming it otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist") from None
    except OSError as exc:
        if os.path.islink(path):  # O_NOFOLLOW refused it (a loop or a dangling link too)
            raise BaselineError(_not_regular(path, "a symbolic link")) from None
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise BaselineError(_not_regular(path, file_kind(mode)))
        try:
            check_json_file_size(os.fstat(f.fileno()).st_size)
        except JsonTooComplex as exc:
            raise BaselineError(f"{path}: refused: {exc}") from None
        data = f.read(MAX_JSON_FILE_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineError(f"cannot read baseline {path}: not UTF-8 ({exc.reason})") from None


def _not_regular(path: Path, kind: str) -> str:
    return (
        f"baseline {path} is {kind}: baselines are regular files inside the baseline "
        "directory (remove it, then run `netinspect snapshot`)"
    )


def read_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read one baseline file. Missing, not a regular file, unreadable, corrupt, too deeply
    nested or too new: BaselineError."""
    text = _read_regular_file(Path(path))
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{path}: corrupt baseline: not valid JSON ({json_error_text(exc)})"
        ) from None
    except JsonTooComplex as exc:
        raise BaselineError(f"{path}: corrupt baseline: {exc}") from None
    return parse_baseline(data, path)


def baseline_exists(path: str | os.PathLike[str]) -> bool:
    """Whether anything is at ``path`` (a dangling or looping link counts: it is an error to
    report, not a missing baseline to create)."""
    return os.path.lexists(path)


def write_baseline(directory: str | os.PathLike[str], baseline: Baseline) -> Path:
    """Atomically write ``baseline`` into ``directory``; returns its path."""
    return write_baseline_file(baseline_path(directory, baseline.target), baseline)


def write_baseline_file(path: str | os.PathLike[str], baseline: Baseline) -> Path:
    """Atomically write ``baseline`` to ``path`` (the pytest plugin names its own files); its
    directory is created if missing. Whatever is at ``path`` must be a regular file: a link
    (dangling or looping too) is an error naming it, never written through."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BaselineError(
            f"cannot create baseline directory {path.parent}: {exc.strerror or exc}"
        ) from exc
    try:
        write_text_atomic(path, baseline_to_text(baseline))
    except NotRegularFile:
        raise BaselineError(_not_regular(path, file_kind(os.lstat(path).st_mode))) from None
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from exc
    return path


def list_baselines(directory: str | os.PathLike[str]) -> list[Baseline]:
    """Every baseline in ``directory``, sorted by target (for a ``check`` given no targets)."""
    found = [read_baseline(p) for p in sorted(Path(directory).glob("*.json"))]
    return sorted(found, key=lambda b: b.target)


def unclaimed_baselines(
    directory: str | os.PathLike[str], targets: Iterable[str]
) -> list[tuple[Path, str]]:
    """The ``*.json`` files in ``directory`` that are not the baseline of any of ``targets``,
    each with the target it names ("" when it cannot be read). Reading one runs nothing: a
    baseline's target is data, reported to the user, never a thing to import."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    claimed = {baseline_path(directory, target).name for target in targets}
    found = []
    for path in sorted(directory.glob("*.json")):
        if path.name in claimed:
            continue
        try:
            target = read_baseline(path).target
        except BaselineError:
            target = ""
        found.append((path, target))
    return found


_LIST_ITEM = re.compile(r"^(\w+)\[(\d+)\]$")
_POSITIONAL = re.compile(r"^input\d+$")


def specs_from_input_records(records: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """``--input`` specs that rebuild the inputs a report lists (``input0`` positional,
    other names keyword, ``x[0]``/``x[1]`` one list input), so that ``diff`` can run a target
    that has no default input on the other side's input."""
    groups: dict[str, list[str]] = {}
    for record in records:
        spec = "x".join(str(d) for d in record["shape"]) + f":{record['dtype']}"
        name = str(record["name"])
        match = _LIST_ITEM.match(name)
        if match:
            groups.setdefault(match.group(1) + "[]", []).append(spec)
        else:
            groups[name] = [spec]
    specs = []
    for key, items in groups.items():
        is_list = key.endswith("[]")
        name = key.removesuffix("[]")
        body = "[" + ",".join(items) + "]" if is_list else items[0]
        specs.append(body if _POSITIONAL.match(name) else f"{name}={body}")
    return tuple(specs)
