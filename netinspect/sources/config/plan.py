"""A checked config as a build plan: specs that build modules when the factory runs."""

from __future__ import annotations

import difflib
import inspect
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netinspect.errors import (
    ConfigError,
    describe_exception,
)


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
        from netinspect.sources.blocks import Residual

        return Residual(self.body.build(), self.shortcut.build() if self.shortcut else None)


@dataclass(frozen=True)
class _ConcatSpec(_Spec):
    loc: _Loc
    branches: tuple[_Spec, ...]
    dim: int

    def build(self) -> Any:
        from netinspect.sources.blocks import Concat

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
