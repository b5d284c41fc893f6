"""The config grammar: keys, layers, combinators, ``replace:``, inputs and args."""

from __future__ import annotations

import inspect
from typing import Any

from netinspect.errors import (
    ConfigError,
    ConfigErrors,
    InputSpecError,
)
from netinspect.sources.config.imports import (
    _WEIGHT_KWARGS,
    COMBINATORS,
    ConfigResolver,
)
from netinspect.sources.config.plan import (
    ConfigPlan,
    _Call,
    _ConcatSpec,
    _DictOf,
    _did_you_mean,
    _keyword_names,
    _ListOf,
    _Plain,
    _Replacement,
    _ResidualSpec,
    _SequentialSpec,
    _short_signature,
    _Spec,
)
from netinspect.sources.config.reader import Node, _kind, read_config
from netinspect.specs import parse_input_spec

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = ("version", "name", "description", "model", "layers", "replace", "input", "args")


class _Parser(ConfigResolver):
    # top level -----------------------------------------------------------------------------
    def parse(self, root: Node) -> ConfigPlan:
        if not root.is_mapping:
            raise self.error(
                root, f"a config is a mapping with model: or layers:, not {_kind(root)}"
            )
        assert root.keys is not None
        for key, key_node in root.keys.items():
            if key not in TOP_LEVEL_KEYS:
                hint = _did_you_mean(str(key), list(TOP_LEVEL_KEYS))
                known = f"(known keys: {', '.join(TOP_LEVEL_KEYS)})"
                self.gathered.append(
                    self.error(key_node, f"unknown top-level key {key!r}{hint} {known}")
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
        spec: _Spec | None = None
        if "model" in values:
            parsed = self.gather(lambda: self.parse_model(values["model"]))
            spec, family, family_inputs = parsed or (None, None, None)
        elif "layers" in values:
            spec = self.gather(lambda: self.parse_layers_root(values["layers"]))
        elif not self.gathered:  # else a misspelt key (``layer:``) already says it
            raise self.error(root, "the config needs model: (a torchvision model) or layers:")

        # Each section is checked even after an error in another: every error is reported.
        replace = self.section(values, "replace", self.parse_replace, ())
        inputs = self.section(values, "input", self.parse_inputs, None)
        args = self.section(values, "args", self.parse_args, {})
        name = self.gather(lambda: self.optional_text(values, "name"))
        description = self.gather(lambda: self.optional_text(values, "description"))
        if self.gathered:
            raise ConfigErrors(self.gathered)
        assert spec is not None
        return ConfigPlan(
            path=self.path,
            name=name,
            description=description,
            root=spec,
            replacements=replace or (),
            inputs=inputs,
            args=args or {},
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
        from netinspect.sources import torchvision as zoo
        from netinspect.sources.torchvision import torchvision_target

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
            layer = self.layer_or_none(node.value[key])
            items += [(name, layer)] if layer is not None else []
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
            layer = self.layer_or_none(node.value[key])
            if layer is not None:
                out.append(_Replacement(path, self.loc(key_node), layer))
        return tuple(out)

    # layers --------------------------------------------------------------------------------
    def parse_layer(self, node: Node) -> _Spec:
        """One layer: ``Name``, ``{Name: args}``, ``{_target_: ...}``, a combinator, or a list
        (an ``nn.Sequential``)."""
        if node.is_sequence:  # each item checked, whatever an earlier one got wrong
            layers = [self.layer_or_none(i) for i in node.value]
            return _SequentialSpec(
                self.loc(node), tuple((None, x) for x in layers if x is not None)
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


def load_config(path: str, *, allow_import: tuple[str, ...] = ()) -> ConfigPlan:
    """Read and check a config; raises ConfigError at the offending ``path:line:col``."""
    root = read_config(path)
    if root is None or (root.is_scalar and root.value is None):
        raise ConfigError("the config is empty (expected model: or layers:)", path, 1, 1)
    return _Parser(path, allow_import).parse(root)
