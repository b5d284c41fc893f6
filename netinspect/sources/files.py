"""Models from Python: ``path/to/file.py:Name`` and importable ``package.module:Name``."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from netinspect.errors import (
    ModelNotFound,
    UsageError,
    describe_exception,
)
from netinspect.sources.target import ModelTarget
from netinspect.torch_compat.user_modules import forget_module, register_module


@contextmanager
def _on_sys_path(directory: str) -> Iterator[None]:
    """Let a user's file import its siblings while it loads; leave sys.path as it was."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(directory)


def file_target(target: str, location: str, attr: str) -> ModelTarget:
    path = Path(location)
    if not path.is_file():
        raise UsageError(f"model file not found: {location}")
    module_name = f"_netinspect_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {location} as a Python module")
    module = importlib.util.module_from_spec(spec)
    register_module(module_name, module)
    try:
        with _on_sys_path(str(path.resolve().parent)):
            spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        forget_module(module_name)
        raise UsageError(f"importing {location} called sys.exit({exc.code!r})") from exc
    except BaseException as exc:
        forget_module(module_name)
        raise UsageError(f"importing {location} failed: {describe_exception(exc)}") from exc
    return _attribute_target(target, module, location, attr, source="file")


def import_from_cwd(module_name: str) -> Any:
    """Import ``module_name`` the way ``python -m`` would find it: the current directory is on
    sys.path while it imports (a console script's sys.path lacks it), and is taken off after.
    torch and torchvision are the exception: they always come from the installed packages."""
    if module_name.partition(".")[0] in INSTALLED_ONLY:
        return import_installed(module_name)
    with _on_sys_path(os.getcwd()):
        return importlib.import_module(module_name)


# Top-level packages that the default config imports come from. A folder of the same name in
# the current directory (``torchvision/`` next to a config) must never stand in for them.
INSTALLED_ONLY = frozenset({"torch", "torchvision"})


@contextmanager
def _without_cwd_on_sys_path() -> Iterator[None]:
    """sys.path without the current directory ('' or its path), put back as it was after."""
    cwd = os.path.realpath(os.getcwd())
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if p and os.path.realpath(p) != cwd]
    kept = list(sys.path)
    try:
        yield
    finally:
        # Keep what the import added (rare: a .pth-like side effect), in front of the rest.
        added = [p for p in sys.path if p not in kept]
        sys.path[:] = saved + [p for p in added if p not in saved]


def import_installed(module_name: str) -> Any:
    """Import ``module_name`` from the installed packages only: the current directory is off
    sys.path meanwhile, so a local folder cannot shadow it."""
    with _without_cwd_on_sys_path():
        return importlib.import_module(module_name)


def module_target(target: str, module_path: str, attr: str) -> ModelTarget:
    try:
        module = import_from_cwd(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise ModelNotFound(target, detail=f"no module named {exc.name!r}") from exc
        raise UsageError(f"importing {module_path} failed: {describe_exception(exc)}") from exc
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        raise UsageError(f"importing {module_path} called sys.exit({exc.code!r})") from exc
    except BaseException as exc:
        raise UsageError(f"importing {module_path} failed: {describe_exception(exc)}") from exc
    return _attribute_target(target, module, module_path, attr, source="module")


def _attribute_target(
    target: str, module: Any, where: str, attr: str, *, source: str
) -> ModelTarget:
    import torch.nn as nn

    if not attr.isidentifier():
        raise UsageError(f"{attr!r} is not a valid class or function name (in {target})")
    obj = getattr(module, attr, None)
    if obj is None:
        candidates = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (
                (isinstance(v, type) and issubclass(v, nn.Module))
                or (callable(v) and getattr(v, "__module__", None) == module.__name__)
            )
        ]
        close = difflib.get_close_matches(attr, candidates, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        listing = (
            f"; it defines: {', '.join(sorted(candidates))}" if candidates and not close else ""
        )
        raise ModelNotFound(target, detail=f"{where} has no attribute {attr!r}{hint}{listing}")
    if not callable(obj):
        raise UsageError(f"{where}:{attr} is not a class or factory function")

    def factory() -> Any:
        try:
            model = obj()
        except TypeError as exc:
            raise UsageError(
                f"{where}:{attr}() could not be called without arguments: {exc}"
            ) from exc
        if not isinstance(model, nn.Module):
            raise UsageError(
                f"{where}:{attr}() returned {type(model).__name__}, not a torch.nn.Module"
            )
        return model

    return ModelTarget(name=target, source=source, factory=factory)
