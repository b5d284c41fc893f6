"""``[tool.netinspect]`` in pyproject.toml: the targets, inputs and baseline directory that a
bare ``netinspect check`` uses in CI.

    [tool.netinspect]
    targets = ["vgg16", "configs/mlp.yaml", "models/net.py:Net"]
    dir = ".netinspect"

    allow_import = ["mypkg.layers"]   # like --allow-import, for configs' _target_

    [tool.netinspect.inputs]
    "vgg16" = ["1x3x224x224"]

Relative paths (the baseline dir, file and config targets) are relative to the directory that
holds the pyproject.toml, so the check behaves the same from any subdirectory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netinspect.compare.baseline import split_file_target
from netinspect.errors import ConfigError, UsageError
from netinspect.limits import (
    MAX_NESTING,
    MAX_PYPROJECT_BYTES,
    check_target_length,
    is_nested_too_deep,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    # The pyproject.toml read, or None when there is none (then everything is cwd-relative).
    pyproject: Path | None = None
    targets: tuple[str, ...] = ()
    inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The baseline directory as written; ``None``: not set.
    directory: str | None = None
    # Module prefixes a config's ``_target_`` may import (as ``--allow-import``).
    allow_import: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        return self.pyproject.parent if self.pyproject is not None else Path.cwd()


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml in ``start`` (default: the current directory) or a parent."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _string_list(value: Any, what: str, file: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"[tool.netinspect] {what} must be a string or a list of strings", file=file)


def load_project_settings(start: Path | None = None) -> ProjectSettings:
    """Read ``[tool.netinspect]`` from the nearest pyproject.toml; empty settings without one."""
    path = find_pyproject(start)
    if path is None:
        return ProjectSettings()
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PYPROJECT_BYTES + 1)
        if len(data) > MAX_PYPROJECT_BYTES:
            raise ConfigError(
                f"refused: larger than {MAX_PYPROJECT_BYTES // (1024 * 1024)} MiB", file=str(path)
            )
        text = data.decode("utf-8")
        if is_nested_too_deep(text, toml=True):
            # tomllib recurses once per level of arrays and inline tables.
            raise ConfigError(
                f"refused: nested more than {MAX_NESTING} levels deep", file=str(path)
            )
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        # TOML is UTF-8; tomllib lets the decoder's error through.
        raise ConfigError(
            f"invalid TOML: not UTF-8 ({exc.reason} at byte {exc.start})", file=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(
            f"tool must be a table ([tool]), not {type(tool).__name__}", file=str(path)
        )
    section = tool.get("netinspect", {})
    if not isinstance(section, dict):
        raise ConfigError("[tool.netinspect] must be a table", file=str(path))
    known = {"targets", "inputs", "dir", "allow_import"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(
            f"[tool.netinspect] has unknown key(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})",
            file=str(path),
        )
    targets = _string_list(section.get("targets", []), "targets", str(path))
    for target in targets:
        check_target_length(target, f"{path}: [tool.netinspect] ")
    raw_inputs = section.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise ConfigError(
            "[tool.netinspect.inputs] must be a table of target = specs", file=str(path)
        )
    inputs = {str(k): _string_list(v, f"inputs.{k!r}", str(path)) for k, v in raw_inputs.items()}
    directory = section.get("dir")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError("[tool.netinspect] dir must be a string", file=str(path))
    allow_import = _string_list(section.get("allow_import", []), "allow_import", str(path))
    return ProjectSettings(
        pyproject=path,
        targets=targets,
        inputs=inputs,
        directory=directory,
        allow_import=allow_import,
    )


def locate(target: str, root: Path) -> str:
    """What to load for ``target``: a relative file or config path is taken from ``root``."""
    parts = split_file_target(target)
    if parts is None or Path(parts[0]).is_absolute() or root.resolve() == Path.cwd().resolve():
        return target
    path, attr = parts
    joined = str(root / path)
    return joined if attr is None else f"{joined}:{attr}"


def project_target(target: str, root: Path) -> str:
    """The baseline identity of a target typed on the command line: a relative file or config
    path (relative to the current directory) is rewritten relative to ``root``, the directory
    of the pyproject.toml, so ``../configs/mlp.yaml`` typed in ``sub/`` and ``configs/mlp.yaml``
    typed at the root share one baseline. Raises UsageError for a path that only exists
    relative to the root (``models/net.py:Net`` typed inside ``models/``)."""
    parts = split_file_target(target)
    if parts is None:
        return target
    path, attr = parts
    cwd = Path.cwd().resolve()
    root = root.resolve()
    here = Path(path) if Path(path).is_absolute() else cwd / path
    if not here.exists() and not Path(path).is_absolute() and (root / path).exists():
        raise UsageError(
            f"{path} does not exist here ({os.path.relpath(cwd, root)}/ of the project): "
            "command-line paths are relative to the current directory; use "
            f"{os.path.relpath(root / path, cwd)} or run from {root}"
        )
    rel = os.path.relpath(os.path.normpath(here), root).replace(os.sep, "/")
    return rel if attr is None else f"{rel}:{attr}"
