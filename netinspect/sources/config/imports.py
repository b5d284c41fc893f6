"""Which ``_target_`` a config may name, and importing it: by default only nn.Module classes
under ``torch.nn``, ``torchvision.models`` and ``torchvision.ops`` and torchvision model
builders, unless the user allows more prefixes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from netinspect.errors import (
    ConfigError,
    ConfigErrors,
    describe_exception,
)
from netinspect.sources.config.plan import _did_you_mean, _Loc
from netinspect.sources.config.reader import Node
from netinspect.sources.files import import_from_cwd

T = TypeVar("T")

DEFAULT_IMPORT_PREFIXES = ("torch.nn", "torchvision.models", "torchvision.ops")
COMBINATORS = ("residual", "concat")
# Keyword arguments that would make a torchvision builder download weights.
_WEIGHT_KWARGS = ("weights", "weights_backbone")


class ConfigResolver:
    """The parser's base: where errors point, and resolving ``_target_`` names."""

    def __init__(self, path: str, allow_import: tuple[str, ...]) -> None:
        self.path = path
        extra = tuple(p.strip().rstrip(".") for p in allow_import if p.strip().rstrip("."))
        self.prefixes = DEFAULT_IMPORT_PREFIXES + extra
        # Prefixes the user opted into: any class or function there may be built.
        self.user_prefixes = extra
        # Errors of parts already given up on; parsing goes on with the next part, so that
        # one run reports every error in the file (``load_config`` raises them together).
        self.gathered: list[ConfigError] = []

    def gather(self, parse: Callable[[], T]) -> T | None:
        """``parse()``, or None after noting its ConfigError (the next part is parsed next)."""
        try:
            return parse()
        except ConfigErrors as exc:
            self.gathered.extend(exc.errors)
        except ConfigError as exc:
            self.gathered.append(exc)
        return None

    def section(
        self, values: dict[str, Node], key: str, parse: Callable[[Node], T], empty: Any
    ) -> Any:
        """A top-level section parsed (``empty`` when absent), or None after gathering."""
        return self.gather(lambda: parse(values[key]) if key in values else empty)

    def parse_layer(self, node: Node) -> Any:  # the parser's
        raise NotImplementedError

    def layer_or_none(self, node: Node) -> Any:
        """A layer, or None after gathering its errors (its siblings are parsed next)."""
        return self.gather(lambda: self.parse_layer(node))

    def loc(self, node: Node) -> _Loc:
        return _Loc(self.path, node.line, node.col)

    def error(self, node: Node, message: str) -> ConfigError:
        return ConfigError(message, self.path, node.line, node.col)

    # names ---------------------------------------------------------------------------------
    def is_allowed(self, dotted: str) -> bool:
        return any(dotted == p or dotted.startswith(p + ".") for p in self.prefixes)

    def is_user_allowed(self, dotted: str) -> bool:
        return any(dotted == p or dotted.startswith(p + ".") for p in self.user_prefixes)

    def resolve(self, name: str, node: Node, *, is_layer: bool) -> Any:
        """A bare name is a torch.nn layer; a dotted name is ``module.Name``: the longest
        importable module, then one attribute (a class or function defined there). By default
        only nn.Module classes of torch.nn/torchvision.ops/torchvision.models and torchvision
        model builders; a prefix the user allowed may name any class or function."""
        import torch.nn as nn

        if "." not in name:
            obj = getattr(nn, name, None) if not name.startswith("_") else None
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                return obj
            layers = [
                n for n, v in vars(nn).items() if isinstance(v, type) and issubclass(v, nn.Module)
            ]
            choices = layers + list(COMBINATORS) if is_layer else layers
            raise self.error(
                node,
                f"unknown layer {name!r}{_did_you_mean(name, choices)}: "
                "bare names are torch.nn layers",
            )
        if not self.is_allowed(name):
            module = name.rpartition(".")[0]
            raise self.error(
                node,
                f"_target_ {name!r} is not importable by default: configs may only use "
                f"{', '.join(DEFAULT_IMPORT_PREFIXES)}; "
                f"pass --allow-import {module} if you trust it",
            )
        parts = name.split(".")
        if any(not p or p.startswith("_") for p in parts):
            raise self.error(
                node, f"{name!r}: private or empty names cannot be imported from a config"
            )
        obj = self.import_longest(name, parts, node)
        if not callable(obj):
            raise self.error(node, f"{name!r} is not a class or function")
        if not self.is_user_allowed(name) and not _is_default_buildable(obj):
            raise self.error(
                node,
                f"_target_ {name!r} is not a torch.nn.Module class or a torchvision model "
                "builder: by default a config may only build layers and models "
                f"({', '.join(DEFAULT_IMPORT_PREFIXES)}); pass --allow-import {name} "
                "if you trust it",
            )
        if is_layer and isinstance(obj, type) and not issubclass(obj, nn.Module):
            raise self.error(node, f"{name!r} is not a torch.nn.Module")
        return obj

    def import_longest(self, name: str, parts: list[str], node: Node) -> Any:
        """Import the longest importable module prefix of ``name``; then allow exactly one
        attribute step. Walking attributes of objects (``Weights.DEFAULT.get_state_dict``)
        would reach methods that run arbitrary code (downloads), so it is refused."""
        module: Any = None
        used = 0
        for i in range(len(parts) - 1, 0, -1):
            module_name = ".".join(parts[:i])
            try:
                module = import_from_cwd(module_name)
            except ModuleNotFoundError as exc:
                if exc.name and module_name.startswith(exc.name):
                    continue
                raise self.error(
                    node, f"importing {module_name} failed: {describe_exception(exc)}"
                ) from None
            except Exception as exc:
                raise self.error(
                    node, f"importing {module_name} failed: {describe_exception(exc)}"
                ) from None
            used = i
            break
        if module is None:
            raise self.error(node, f"cannot import {name!r}: no module named {parts[0]!r}")
        module_name = ".".join(parts[:used])
        if len(parts) - used > 1:
            raise self.error(
                node,
                f"_target_ {name!r} walks attributes of {module_name}.{parts[used]}: a _target_ "
                "is module.Name, one class or function defined at module level",
            )
        part = parts[used]
        obj = getattr(module, part, None)
        if obj is None:
            public = [n for n in dir(module) if not n.startswith("_")]
            raise self.error(
                node, f"{module_name} has no attribute {part!r}{_did_you_mean(part, public)}"
            )
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            raise self.error(
                node,
                f"_target_ {name!r} is a {type(obj).__name__} object, not a class or function "
                "(a _target_ is module.Name, one class or function defined at module level)",
            )
        # The dotted path passed the prefix check, but a module can re-export something from
        # elsewhere (``torch.nn.modules.module.torch``): what we reached must live there too.
        home = getattr(obj, "__module__", None)
        if not isinstance(home, str) or not self.is_allowed(home):
            raise self.error(
                node,
                f"{name!r} resolves to {home or 'an object'}.{getattr(obj, '__name__', '')}, "
                "outside the allowed modules; name it by its own module (and --allow-import it)",
            )
        return obj


def _is_default_buildable(obj: Any) -> bool:
    """What a config may build without --allow-import: an nn.Module class defined under
    torch.nn/torchvision.ops/torchvision.models, or a torchvision model builder (a name in
    ``torchvision.models.list_models()``, the function itself). Helpers such as ``get_weight``
    are not."""
    import torch.nn as nn

    home = getattr(obj, "__module__", None) or ""
    in_defaults = any(home == p or home.startswith(p + ".") for p in DEFAULT_IMPORT_PREFIXES)
    if not in_defaults:
        return False
    if isinstance(obj, type):
        return issubclass(obj, nn.Module)
    if not home.startswith("torchvision.models"):
        return False
    return obj in _registered_builders()


@functools.cache
def _registered_builders() -> frozenset[Any]:
    """The builder functions torchvision registers, compared by identity: a quantized model's
    builder is ``torchvision.models.quantization.resnet18``, registered as quantized_resnet18."""
    import torchvision.models as tvm

    return frozenset(tvm.get_model_builder(name) for name in tvm.list_models())
