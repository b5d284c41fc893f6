"""Resolve what the user named (a torchvision model, ``file.py:Name``, ``package.module:Name``
or a YAML config) into a ``ModelTarget``: a factory plus the facts needed to run it.

Nothing here builds the model: the inspector calls ``factory()`` inside the device context it
chose (``torch.device("meta")`` by default), so no weight memory or init time is spent.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netinspect.errors import ModelNotFound, UsageError, describe_exception

CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ModelTarget:
    name: str
    source: str  # "torchvision" | "file" | "module" | "config" | "object"
    factory: Callable[[], Any]
    default_inputs: tuple[str, ...] | None = None
    family: str | None = None
    # Non-tensor forward arguments the target asks for (config ``args:``), CLI ``--arg`` wins.
    default_args: dict[str, Any] = field(default_factory=dict)
    # A config's ``description:``, carried into the report's model info.
    description: str | None = None
    # Where ``--device auto`` runs this target instead of meta, and why (quantized models).
    auto_device: str | None = None
    auto_device_reason: str | None = None


def is_config_path(target: str) -> bool:
    return target.lower().endswith(CONFIG_SUFFIXES)


def resolve_target(target: str, *, allow_import: tuple[str, ...] = ()) -> ModelTarget:
    """Turn a CLI/API target string into a ModelTarget. Raises a UsageError subclass."""
    target = target.strip()
    if not target:
        raise ModelNotFound(target, detail="no model given")
    if is_config_path(target):
        from netinspect.config import load_config_target

        return load_config_target(target, allow_import=allow_import)
    if ":" in target:
        location, _, attr = target.rpartition(":")
        if location.endswith(".py") or os.sep in location or "/" in location:
            return _file_target(target, location, attr)
        return _module_target(target, location, attr)
    if target.endswith(".py"):
        raise UsageError(f"name the model class or factory in {target}: use {target}:ClassName")
    return torchvision_target(target)


def torchvision_target(name: str) -> ModelTarget:
    from netinspect import zoo

    families = zoo.model_families()
    if name not in families:
        lowered = {n.lower(): n for n in families}
        if name.lower() in lowered:
            suggestions = [lowered[name.lower()]]
        else:
            suggestions = difflib.get_close_matches(name, list(families), n=3, cutoff=0.6)
        detail = f"unknown model {name!r}: not a torchvision model, .py target or YAML config"
        if Path(name).exists():
            detail += " (a file of that name exists: use file.py:ClassName or a .yaml config)"
        raise ModelNotFound(name, suggestions, detail)
    family = families[name]

    def factory() -> Any:
        import torchvision.models as tvm

        with warnings.catch_warnings():
            # torchvision's own deprecation and observer chatter: nothing the user can act on.
            warnings.simplefilter("ignore")
            return tvm.get_model(name, weights=None, **zoo.build_kwargs(name, family))

    return ModelTarget(
        name=name,
        source="torchvision",
        factory=factory,
        default_inputs=zoo.default_inputs(name, family),
        family=family,
        auto_device=zoo.FAMILY_AUTO_DEVICE.get(family),
        auto_device_reason=(
            "quantized int8 kernels run on cpu only" if family in zoo.FAMILY_AUTO_DEVICE else None
        ),
    )


@contextmanager
def _on_sys_path(directory: str) -> Iterator[None]:
    """Let a user's file import its siblings while it loads; leave sys.path as it was."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(directory)


def _file_target(target: str, location: str, attr: str) -> ModelTarget:
    path = Path(location)
    if not path.is_file():
        raise UsageError(f"model file not found: {location}")
    module_name = f"_netinspect_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {location} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with _on_sys_path(str(path.resolve().parent)):
            spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        sys.modules.pop(module_name, None)
        raise UsageError(f"importing {location} called sys.exit({exc.code!r})") from exc
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        raise UsageError(f"importing {location} failed: {describe_exception(exc)}") from exc
    return _attribute_target(target, module, location, attr, source="file")


def import_from_cwd(module_name: str) -> Any:
    """Import ``module_name`` the way ``python -m`` would find it: the current directory is on
    sys.path while it imports (a console script's sys.path lacks it), and is taken off after."""
    with _on_sys_path(os.getcwd()):
        return importlib.import_module(module_name)


def _module_target(target: str, module_path: str, attr: str) -> ModelTarget:
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
