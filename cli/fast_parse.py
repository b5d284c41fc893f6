"""Parse a command line without importing pydantic when no value needs it (a cold
start pays only for what it uses).

Typer 0.29 checks each parameter's value with a pydantic ``TypeAdapter``, built the first time
a command line is parsed, for every parameter that is not a flag, given or not:
``netinspect resnet18`` imports pydantic (about 0.25 s, a third of the work after ``import
torch, torchvision``) to pass its one ``str`` argument through unchanged. ``LazyChecksGroup``
gives each parameter of its command tree a check that builds typer's own only when a value
needs it:

- a parameter that was not given (``None``) stays ``None`` (``()`` for a repeatable one), by
  typer's own ``RuntimeParam.coerce``, which answers those before any check;
- a ``str`` or ``list[str]`` parameter without a parser keeps the strings click hands over,
  which is all pydantic's check of a ``str`` does;
- any other value (an int, a path, a choice, a parser's input) goes through typer's adapter,
  built then, exactly as before.

With a typer that works differently (older releases coerce through click, without pydantic)
nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import typer.core


@cache
def _lazy_check_class() -> type | None:
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # a typer without the pydantic coercion layer: nothing to skip
        return None

    @dataclass(frozen=True)
    class LazyCheck(RuntimeParam):
        """Typer's ``coerce`` answers ``None`` itself; a plain ``str``/``list[str]`` value
        stays as click gave it; anything else goes to typer's own check, built now."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain = getattr(self.parameter_info, "parser", None) is None
            if plain and self.annotation is str and isinstance(value, str):
                return value
            if (
                plain
                and self.annotation == list[str]
                and isinstance(value, (list, tuple))
                and all(isinstance(v, str) for v in value)
            ):
                return list(value)
            typers_own = build_runtime_param(param.type_descriptor)
            param._runtime_param = typers_own  # from now on, typer's check alone
            return typers_own._coerce_value(value, param=param, ctx=ctx)

    return LazyCheck


def _params(command: Any, parent: Any = None) -> list[Any]:
    """Every parameter of ``command`` and its subcommands, with the ``--help`` options, which
    click makes on first use (and keeps), under a context shaped like the real one."""
    found = list(getattr(command, "params", ()))
    context_class = getattr(command, "context_class", None)
    ctx = None
    if context_class is not None:
        ctx = context_class(command, parent=parent, **getattr(command, "context_settings", {}))
        help_option = command.get_help_option(ctx)
        if help_option is not None:
            found.append(help_option)
    for sub in getattr(command, "commands", {}).values():
        found += _params(sub, ctx)
    return found


def lazy_checks(command: Any) -> int:
    """Give every parameter of ``command``'s tree that typer would check with pydantic the
    lazy check; returns how many it gave it to (0 where typer works differently)."""
    lazy_check = _lazy_check_class()
    if lazy_check is None:
        return 0
    given = 0
    for param in _params(command):
        descriptor = getattr(param, "type_descriptor", None)
        info = getattr(descriptor, "parameter_info", None)
        if (
            getattr(param, "_runtime_param", False) is None
            and descriptor is not None
            and info is not None
            and getattr(descriptor, "file_annotation", None) is None
        ):
            param._runtime_param = lazy_check(parameter_info=info, annotation=descriptor.annotation)
            given += 1
    return given


class LazyChecksGroup(typer.core.TyperGroup):
    """The app's group: its tree gets the lazy checks before a command line is parsed (the CLI's
    ``main`` and typer's ``CliRunner`` both come through ``main``)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        lazy_checks(self)
        return super().main(*args, **kwargs)
