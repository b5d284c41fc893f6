"""YAML model configs, format version 1 (documented in ``configs/README.md``).

``load_config_target`` reads and checks the whole file up front (structure, layer names,
keyword names, argument counts, import permissions, input specs), so a mistake is reported
as ``path:line:col: message`` before any model is built. What can only be known by building
(a constructor rejecting a value, a ``replace:`` path that the built model lacks) is reported
the same way from the factory, at the line of the layer or path concerned.

The file is read with a line-tracking loader on top of ``yaml.SafeLoader``: only plain YAML
(no Python tags). A ``_target_`` is ``module.Name`` (one attribute after the longest
importable module); by default only nn.Module classes under ``torch.nn``,
``torchvision.models`` and ``torchvision.ops`` and torchvision model builders, unless the user
allows more prefixes.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netinspect.errors import ConfigError, InputSpecError, describe_exception
from netinspect.loading import ModelTarget, import_from_cwd
from netinspect.specs import parse_input_spec

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = ("version", "name", "description", "model", "layers", "replace", "input", "args")
DEFAULT_IMPORT_PREFIXES = ("torch.nn", "torchvision.models", "torchvision.ops")
COMBINATORS = ("residual", "concat")
# Keyword arguments that would make a torchvision builder download weights.
_WEIGHT_KWARGS = ("weights", "weights_backbone")
# Aliases can expand exponentially ("billion laughs"); no real config comes near this.
_MAX_NODES = 200_000

_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


# --- line-tracking YAML -------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    """A YAML value and where it was written (1-based). A mapping's ``value`` maps keys to
    value nodes and ``keys`` maps them to the key nodes; a sequence's ``value`` is a list."""

    value: Any
    line: int
    col: int
    keys: dict[Any, Node] | None = None

    @property
    def is_mapping(self) -> bool:
        return self.keys is not None

    @property
    def is_sequence(self) -> bool:
        return self.keys is None and isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not self.is_mapping and not self.is_sequence

    def plain(self) -> Any:
        """The value as ordinary Python lists, dicts and scalars."""
        if self.is_mapping:
            return {k: v.plain() for k, v in self.value.items()}
        if self.is_sequence:
            return [item.plain() for item in self.value]
        return self.value


class _LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader``; we compose its node tree and keep each node's start mark."""


def _kind(node: Node) -> str:
    if node.is_mapping:
        return "a mapping"
    if node.is_sequence:
        return "a list"
    return "null" if node.value is None else f"{type(node.value).__name__} {node.value!r}"


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0

    def error(self, message: str, line: int | None = None, col: int | None = None) -> ConfigError:
        return ConfigError(message, self.path, line, col)

    def read(self, text: str) -> Node | None:
        try:
            # The reader checks characters as it is built: a control character raises here.
            loader = _LineLoader(text)
        except yaml.reader.ReaderError as exc:
            at_line = text.count("\n", 0, exc.position) + 1
            at_col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
            reason = f"{exc.reason} (character #x{exc.character:04x})"
            raise self.error(f"invalid YAML: {reason}", at_line, at_col) from None
        try:
            root = loader.get_single_node()
            return None if root is None else self._convert(loader, root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "syntax error"
            context = ""
            if exc.context and exc.problem and exc.context_mark is not None:
                context = f" ({exc.context} at line {exc.context_mark.line + 1})"
            if "'\\t'" in problem:
                problem += " (YAML indents with spaces, not tabs)"
            line = mark.line + 1 if mark is not None else None
            col = mark.column + 1 if mark is not None else None
            raise self.error(f"invalid YAML: {problem}{context}", line, col) from None
        except yaml.YAMLError as exc:
            raise self.error(f"invalid YAML: {exc}") from None
        finally:
            loader.dispose()

    def _convert(self, loader: _LineLoader, node: yaml.Node) -> Node:
        self.count += 1
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if self.count > _MAX_NODES:
            raise self.error(f"the config expands to more than {_MAX_NODES:,} values", line, col)
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        if isinstance(node, yaml.ScalarNode):
            # SafeLoader's own constructors: they know the standard tags and no Python ones.
            try:
                return Node(loader.construct_object(node, deep=True), line, col)
            except yaml.constructor.ConstructorError as exc:
                if "could not determine a constructor" not in str(exc.problem):
                    raise
                raise self.error(
                    f"the tag {tag} is not allowed (plain YAML only)", line, col
                ) from None
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            raise self.error(f"the tag {tag} is not allowed (plain YAML only)", line, col)
        if isinstance(node, yaml.SequenceNode):
            return Node([self._convert(loader, item) for item in node.value], line, col)
        assert isinstance(node, yaml.MappingNode)
        loader.flatten_mapping(node)  # resolves ``<<: *anchor`` merge keys
        values: dict[Any, Node] = {}
        keys: dict[Any, Node] = {}
        for key_node, value_node in node.value:
            key = self._convert(loader, key_node)
            if not key.is_scalar:
                raise self.error("mapping keys must be plain names", key.line, key.col)
            if key.value in keys:
                first = keys[key.value]
                raise self.error(
                    f"duplicate key {key.value!r} (first given at line {first.line})",
                    key.line,
                    key.col,
                )
            keys[key.value] = key
            values[key.value] = self._convert(loader, value_node)
        return Node(values, line, col, keys)


# --- build plan: checked at load time, built by the factory -------------------------------


@dataclass(frozen=True, slots=True)
class _Loc:
    path: str
    line: int
    col: int

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, self.path, self.line, self.col)


class _Spec:
    """Something the factory builds. ``loc`` is where its errors point."""

    loc: _Loc

    def build(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class _Plain(_Spec):
    loc: _Loc
    value: Any

    def build(self) -> Any:
        return self.value


@dataclass(frozen=True)
class _ListOf(_Spec):
    loc: _Loc
    items: tuple[_Spec, ...]

    def build(self) -> Any:
        return [item.build() for item in self.items]


@dataclass(frozen=True)
class _DictOf(_Spec):
    loc: _Loc
    items: dict[str, _Spec]

    def build(self) -> Any:
        return {k: v.build() for k, v in self.items.items()}


@dataclass(frozen=True)
class _Call(_Spec):
    """``obj(*args, **kwargs)``: a layer, a ``_target_`` or a nested ``_target_`` value."""

    loc: _Loc
    label: str
    obj: Callable[..., Any]
    args: tuple[_Spec, ...]
    kwargs: dict[str, _Spec]
    key_locs: dict[str, _Loc]
    is_module: bool

    def build(self) -> Any:
        from torch import nn

        args = [a.build() for a in self.args]
        kwargs = {k: v.build() for k, v in self.kwargs.items()}
        try:
            result = self.obj(*args, **kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            loc = self.loc
            unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
            hint = ""
            if unexpected and unexpected.group(1) in self.key_locs:
                word = unexpected.group(1)
                loc = self.key_locs[word]
                hint = _did_you_mean(word, _keyword_names(self.obj), n=1)
            raise loc.error(f"{self.label}(...) failed: {describe_exception(exc)}{hint}") from exc
        if self.is_module and not isinstance(result, nn.Module):
            raise self.loc.error(
                f"{self.label}(...) returned {type(result).__name__}, not a torch.nn.Module"
            )
        return result


@dataclass(frozen=True)
class _SequentialSpec(_Spec):
    """A YAML list (``nn.Sequential``) or a mapping of names (named submodules)."""

    loc: _Loc
    items: tuple[tuple[str | None, _Spec], ...]

    def build(self) -> Any:
        from torch import nn

        if any(name is not None for name, _ in self.items):
            return nn.Sequential(OrderedDict((str(n), s.build()) for n, s in self.items))
        return nn.Sequential(*(s.build() for _, s in self.items))


@dataclass(frozen=True)
class _ResidualSpec(_Spec):
    loc: _Loc
    body: _Spec
    shortcut: _Spec | None

    def build(self) -> Any:
        from netinspect.blocks import Residual

        return Residual(self.body.build(), self.shortcut.build() if self.shortcut else None)


@dataclass(frozen=True)
class _ConcatSpec(_Spec):
    loc: _Loc
    branches: tuple[_Spec, ...]
    dim: int

    def build(self) -> Any:
        from netinspect.blocks import Concat

        return Concat([b.build() for b in self.branches], dim=self.dim)


@dataclass(frozen=True)
class _Replacement:
    path: str
    loc: _Loc
    spec: _Spec


@dataclass(frozen=True)
class ConfigPlan:
    """A checked config: everything ``load_config_target`` needs to make the factory."""

    path: str
    name: str | None
    description: str | None
    root: _Spec
    replacements: tuple[_Replacement, ...] = ()
    inputs: tuple[str, ...] | None = None
    args: dict[str, Any] = field(default_factory=dict)
    family: str | None = None
    family_inputs: tuple[str, ...] | None = None

    def build(self) -> Any:
        """Build the module in the caller's device context and apply ``replace:``."""
        model = self.root.build()
        for replacement in self.replacements:
            _apply_replacement(model, replacement)
        return model


# --- helpers ------------------------------------------------------------------------------


def _did_you_mean(word: str, choices: list[str], n: int = 3) -> str:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:  # only the case is wrong: that is the one
        return f" (did you mean {lowered[word.lower()]}?)"
    close = difflib.get_close_matches(word, choices, n=n, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _keyword_names(obj: Any) -> list[str]:
    """Keyword names ``obj`` accepts; for a builder taking ``**kwargs`` (torchvision's
    ``resnet18``) also those of the class it returns, which is where they end up."""
    names: list[str] = []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return names
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.append(p.name)
    returned = sig.return_annotation
    if isinstance(returned, type) and returned is not obj:
        names += [n for n in _keyword_names(returned) if n not in names]
    return names


def _short_signature(label: str, obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    parts = []
    for p in sig.parameters.values():
        if p.name in ("device", "dtype") or p.kind is p.VAR_KEYWORD:
            continue
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return f"{label}({', '.join(parts)})"


def _format_children(names: list[str]) -> str:
    """``0-30`` for a Sequential's numbered children, otherwise the names."""
    if not names:
        return "(none)"
    if all(n.isdigit() for n in names) and len(names) > 3:
        numbers = sorted(int(n) for n in names)
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(names)


def _apply_replacement(model: Any, replacement: _Replacement) -> None:
    parent = model
    parts = replacement.path.split(".")
    for depth, part in enumerate(parts):
        children = dict(parent.named_children())
        if part not in children:
            where = ".".join(parts[:depth])
            owner = f"{type(parent).__name__} {where!r}" if where else type(parent).__name__
            names = list(children)
            # Suggesting "3, 1" for a Sequential's "31" helps nobody: the range says it all.
            hint = "" if part.isdigit() else _did_you_mean(part, names)
            raise replacement.loc.error(
                f"replace: {replacement.path!r} not found: {owner} has no child {part!r}"
                f"{hint}; its children are {_format_children(names)}"
            )
        if depth == len(parts) - 1:
            setattr(parent, part, replacement.spec.build())
        else:
            parent = children[part]


# --- parsing ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, path: str, allow_import: tuple[str, ...]) -> None:
        self.path = path
        extra = tuple(p.strip().rstrip(".") for p in allow_import if p.strip().rstrip("."))
        self.prefixes = DEFAULT_IMPORT_PREFIXES + extra
        # Prefixes the user opted into: any class or function there may be built.
        self.user_prefixes = extra

    def loc(self, node: Node) -> _Loc:
        return _Loc(self.path, node.line, node.col)

    def error(self, node: Node, message: str) -> ConfigError:
        return ConfigError(message, self.path, node.line, node.col)

    # top level -----------------------------------------------------------------------------
    def parse(self, root: Node) -> ConfigPlan:
        if not root.is_mapping:
            raise self.error(
                root, f"a config is a mapping with model: or layers:, not {_kind(root)}"
            )
        assert root.keys is not None
        for key, key_node in root.keys.items():
            if key not in TOP_LEVEL_KEYS:
                raise self.error(
                    key_node,
                    f"unknown top-level key {key!r}{_did_you_mean(str(key), list(TOP_LEVEL_KEYS))}"
                    f" (known keys: {', '.join(TOP_LEVEL_KEYS)})",
                )
        values: dict[str, Node] = root.value
        if "version" in values:
            v = values["version"]
            if v.value != FORMAT_VERSION or isinstance(v.value, bool):
                raise self.error(
                    v, f"unsupported config version {v.value!r} (this netinspect reads version 1)"
                )
        if "model" in values and "layers" in values:
            keys = root.keys
            later = max(("model", "layers"), key=lambda k: keys[k].line)
            raise self.error(
                root.keys[later],
                "both model: and layers: are given: use model: to start from a torchvision "
                "model, or layers: to build from scratch",
            )
        family = family_inputs = None
        if "model" in values:
            spec, family, family_inputs = self.parse_model(values["model"])
        elif "layers" in values:
            spec = self.parse_layers_root(values["layers"])
        else:
            raise self.error(root, "the config needs model: (a torchvision model) or layers:")
        return ConfigPlan(
            path=self.path,
            name=self.optional_text(values, "name"),
            description=self.optional_text(values, "description"),
            root=spec,
            replacements=self.parse_replace(values["replace"]) if "replace" in values else (),
            inputs=self.parse_inputs(values["input"]) if "input" in values else None,
            args=self.parse_args(values["args"]) if "args" in values else {},
            family=family,
            family_inputs=family_inputs,
        )

    def optional_text(self, values: dict[str, Node], key: str) -> str | None:
        if key not in values:
            return None
        node = values[key]
        if not isinstance(node.value, str) or not node.is_scalar or not node.value.strip():
            raise self.error(node, f"{key}: must be a non-empty string, not {_kind(node)}")
        return str(node.value)

    def parse_inputs(self, node: Node) -> tuple[str, ...]:
        items = node.value if node.is_sequence else [node]
        if not items:
            raise self.error(node, "input: is empty (give a spec such as 1x3x224x224)")
        specs = []
        for item in items:
            if not item.is_scalar or isinstance(item.value, bool) or item.value is None:
                raise self.error(
                    item, f"input: expected a spec such as 1x3x224x224, not {_kind(item)}"
                )
            text = str(item.value)
            try:
                parse_input_spec(text)
            except InputSpecError as exc:
                raise self.error(item, f"input: {exc}") from None
            specs.append(text)
        return tuple(specs)

    def parse_args(self, node: Node) -> dict[str, Any]:
        if not node.is_mapping:
            raise self.error(
                node, f"args: must map forward() argument names to values, not {_kind(node)}"
            )
        assert node.keys is not None
        for key, key_node in node.keys.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise self.error(key_node, f"args: {key!r} is not a valid argument name")
        return {k: v.plain() for k, v in node.value.items()}

    def parse_model(self, node: Node) -> tuple[_Spec, str | None, tuple[str, ...] | None]:
        from netinspect import zoo
        from netinspect.loading import torchvision_target

        if node.is_scalar and isinstance(node.value, str):
            name = node.value.strip()
            families = zoo.model_families()
            if name not in families:
                raise self.error(
                    node,
                    f"unknown torchvision model {name!r}{_did_you_mean(name, list(families))} "
                    "(`netinspect list` shows them all)",
                )
            target = torchvision_target(name)
            spec = _Call(self.loc(node), name, target.factory, (), {}, {}, is_module=True)
            return spec, target.family, target.default_inputs
        if node.is_mapping and "_target_" in node.value:
            call = self.parse_call(node, is_module=True)
            obj = call.obj
            family = None
            if getattr(obj, "__module__", "").startswith("torchvision.models"):
                family = zoo.model_families().get(getattr(obj, "__name__", ""))
            inputs = zoo.default_inputs(getattr(obj, "__name__", ""), family) if family else None
            return call, family, inputs
        raise self.error(
            node,
            "model: is a torchvision name (vgg16) or {_target_: torchvision.models.NAME, ...}, "
            f"not {_kind(node)}",
        )

    def parse_layers_root(self, node: Node) -> _Spec:
        if node.is_mapping:
            return self.parse_named(node, "layers")
        if node.is_sequence:
            return self.parse_layer(node)
        raise self.error(
            node, f"layers: must be a list of layers or a mapping of names, not {_kind(node)}"
        )

    def parse_named(self, node: Node, where: str) -> _Spec:
        assert node.keys is not None
        items: list[tuple[str | None, _Spec]] = []
        for key, key_node in node.keys.items():
            name = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else ""
            if not name or "." in name:
                raise self.error(
                    key_node, f"{where}: {key!r} is not a valid submodule name (no dots)"
                )
            items.append((name, self.parse_layer(node.value[key])))
        return _SequentialSpec(self.loc(node), tuple(items))

    def parse_replace(self, node: Node) -> tuple[_Replacement, ...]:
        if not node.is_mapping:
            raise self.error(
                node,
                "replace: must map submodule paths (classifier, features.30) to layers, "
                f"not {_kind(node)}",
            )
        assert node.keys is not None
        out = []
        for key, key_node in node.keys.items():
            path = str(key) if not isinstance(key, bool) and key is not None else ""
            if not path or any(not part for part in path.split(".")):
                raise self.error(key_node, f"replace: {key!r} is not a dotted submodule path")
            out.append(_Replacement(path, self.loc(key_node), self.parse_layer(node.value[key])))
        return tuple(out)

    # layers --------------------------------------------------------------------------------
    def parse_layer(self, node: Node) -> _Spec:
        """One layer: ``Name``, ``{Name: args}``, ``{_target_: ...}``, a combinator, or a list
        (an ``nn.Sequential``)."""
        if node.is_sequence:
            return _SequentialSpec(
                self.loc(node), tuple((None, self.parse_layer(i)) for i in node.value)
            )
        if node.is_scalar:
            if not isinstance(node.value, str):
                raise self.error(
                    node,
                    f"expected a layer (such as ReLU or Conv2d: [3, 64, 3]), not {_kind(node)}",
                )
            if node.value in COMBINATORS:
                raise self.error(
                    node, f"{node.value}: needs its settings, e.g. {node.value}: {{...}}"
                )
            return self.layer_call(node.value, node, None)
        assert node.keys is not None
        if "_target_" in node.value:
            return self.parse_call(node, is_module=True)
        if len(node.value) != 1:
            names = ", ".join(str(k) for k in node.value)
            raise self.error(
                node,
                f"a layer entry has one key (the layer's name), got {len(node.value)}: {names} "
                "(start each layer with '- ', or use _target_ for keyword form)",
            )
        ((key, value),) = node.value.items()
        key_node = node.keys[key]
        if key == "residual":
            return self.parse_residual(key_node, value)
        if key == "concat":
            return self.parse_concat(key_node, value)
        if not isinstance(key, str):
            raise self.error(key_node, f"expected a layer name, not {key!r}")
        return self.layer_call(key, key_node, value)

    def layer_call(self, name: str, name_node: Node, value: Node | None) -> _Call:
        obj = self.resolve(name, name_node, is_layer=True)
        args: list[Node] = []
        kwargs: dict[str, Node] = {}
        key_nodes: dict[str, Node] = {}
        if value is None or (value.is_scalar and value.value is None):
            pass
        elif value.is_sequence:
            args = list(value.value)
            # ``[64, 128, 3, {stride: 2}]``: a trailing mapping holds the keyword arguments.
            if args and args[-1].is_mapping and "_target_" not in args[-1].value:
                tail = args.pop()
                kwargs, key_nodes = self.keyword_nodes(tail)
        elif value.is_mapping:
            kwargs, key_nodes = self.keyword_nodes(value)
        else:
            args = [value]
        return self.make_call(name, obj, name_node, args, kwargs, key_nodes, is_module=True)

    def keyword_nodes(self, node: Node) -> tuple[dict[str, Node], dict[str, Node]]:
        assert node.keys is not None
        for key, key_node in node.keys.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise self.error(key_node, f"{key!r} is not a valid argument name")
        return dict(node.value), dict(node.keys)

    def parse_call(self, node: Node, *, is_module: bool) -> _Call:
        """Hydra's ``{_target_: dotted.path, _args_: [...], key: value, ...}``."""
        target_node = node.value["_target_"]
        if not isinstance(target_node.value, str) or not target_node.value.strip():
            raise self.error(target_node, "_target_: must be a dotted name such as torch.nn.Conv2d")
        name = target_node.value.strip()
        obj = self.resolve(name, target_node, is_layer=is_module)
        args: list[Node] = []
        if "_args_" in node.value:
            args_node = node.value["_args_"]
            if not args_node.is_sequence:
                raise self.error(args_node, f"_args_: must be a list, not {_kind(args_node)}")
            args = list(args_node.value)
        rest = {k: v for k, v in node.value.items() if k not in ("_target_", "_args_")}
        assert node.keys is not None
        key_nodes = {k: node.keys[k] for k in rest}
        for key, key_node in key_nodes.items():
            if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
                hint = (
                    " (of Hydra's keys, only _target_ and _args_ are supported)"
                    if str(key).startswith("_")
                    else ""
                )
                raise self.error(key_node, f"{key!r} is not a valid argument name{hint}")
        label = name.rpartition(".")[2]
        return self.make_call(label, obj, target_node, args, rest, key_nodes, is_module=is_module)

    def make_call(
        self,
        label: str,
        obj: Any,
        node: Node,
        args: list[Node],
        kwargs: dict[str, Node],
        key_nodes: dict[str, Node],
        *,
        is_module: bool,
    ) -> _Call:
        self.check_arguments(label, obj, node, len(args), key_nodes)
        kwarg_specs = {k: self.value(v) for k, v in kwargs.items()}
        for name in _WEIGHT_KWARGS:
            if name in kwargs and kwargs[name].value is not None:
                raise self.error(
                    key_nodes[name],
                    f"{name}: netinspect never downloads weights; leave it out "
                    "(use --weights FILE to load a local state dict)",
                )
            if name in _keyword_names(obj) and name not in kwargs:
                kwarg_specs[name] = _Plain(self.loc(node), None)
        return _Call(
            loc=self.loc(node),
            label=label,
            obj=obj,
            args=tuple(self.value(a) for a in args),
            kwargs=kwarg_specs,
            key_locs={k: self.loc(n) for k, n in key_nodes.items()},
            is_module=is_module,
        )

    def check_arguments(
        self, label: str, obj: Any, node: Node, n_args: int, key_nodes: dict[str, Node]
    ) -> None:
        """Catch wrong keyword names and argument counts before anything is built."""
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return
        params = sig.parameters.values()
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            known = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            for key, key_node in key_nodes.items():
                if key not in known:
                    raise self.error(
                        key_node,
                        f"{label} has no argument {key!r}{_did_you_mean(key, known, n=1)}: "
                        f"{_short_signature(label, obj)}",
                    )
        try:
            sig.bind(*([None] * n_args), **dict.fromkeys(key_nodes))
        except TypeError as exc:
            raise self.error(node, f"{label}: {exc}: {_short_signature(label, obj)}") from None

    def value(self, node: Node) -> _Spec:
        """An argument value; a nested ``{_target_: ...}`` is built too (Hydra's recursion)."""
        if node.is_mapping:
            if "_target_" in node.value:
                return self.parse_call(node, is_module=False)
            return _DictOf(self.loc(node), {k: self.value(v) for k, v in node.value.items()})
        if node.is_sequence:
            return _ListOf(self.loc(node), tuple(self.value(v) for v in node.value))
        return _Plain(self.loc(node), node.value)

    def settings(self, key_node: Node, value: Node, allowed: tuple[str, ...]) -> dict[str, Node]:
        what = key_node.value
        if not value.is_mapping:
            raise self.error(
                value, f"{what}: expects a mapping with {', '.join(allowed)}, not {_kind(value)}"
            )
        assert value.keys is not None
        for key, node in value.keys.items():
            if key not in allowed:
                raise self.error(
                    node,
                    f"{what}: unknown key {key!r}{_did_you_mean(str(key), list(allowed))} "
                    f"(expected {', '.join(allowed)})",
                )
        return dict(value.value)

    def parse_residual(self, key_node: Node, value: Node) -> _Spec:
        parts = self.settings(key_node, value, ("body", "shortcut"))
        if "body" not in parts:
            raise self.error(
                value, "residual: needs body: (the layers whose output is added to the shortcut)"
            )
        shortcut = parts.get("shortcut")
        return _ResidualSpec(
            self.loc(key_node),
            self.parse_layer(parts["body"]),
            None if shortcut is None or shortcut.value is None else self.parse_layer(shortcut),
        )

    def parse_concat(self, key_node: Node, value: Node) -> _Spec:
        parts = self.settings(key_node, value, ("branches", "dim"))
        branches = parts.get("branches")
        if branches is None or not branches.is_sequence or not branches.value:
            raise self.error(
                branches or value,
                "concat: needs branches: a list of branches (each a layer or a list)",
            )
        dim = parts["dim"].value if "dim" in parts else 1
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise self.error(
                parts["dim"], f"concat: dim must be an integer, not {_kind(parts['dim'])}"
            )
        return _ConcatSpec(
            self.loc(key_node), tuple(self.parse_layer(b) for b in branches.value), dim
        )

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


# --- entry points -------------------------------------------------------------------------


def read_config(path: str) -> Node | None:
    """The file's YAML as located nodes (None for an empty file)."""
    reader = _Reader(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    return reader.read(text)


def load_config(path: str, *, allow_import: tuple[str, ...] = ()) -> ConfigPlan:
    """Read and check a config; raises ConfigError at the offending ``path:line:col``."""
    root = read_config(path)
    if root is None or (root.is_scalar and root.value is None):
        raise ConfigError("the config is empty (expected model: or layers:)", path, 1, 1)
    return _Parser(path, allow_import).parse(root)


def load_config_target(path: str, *, allow_import: tuple[str, ...] = ()) -> ModelTarget:
    """A ModelTarget for a YAML config: checked now, built when the inspector calls it."""
    plan = load_config(path, allow_import=allow_import)
    return ModelTarget(
        name=plan.name or path,
        source="config",
        factory=plan.build,
        default_inputs=plan.inputs or plan.family_inputs,
        family=plan.family,
        default_args=plan.args,
        description=plan.description,
    )
