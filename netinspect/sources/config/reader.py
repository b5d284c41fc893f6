"""Line-tracking YAML on top of ``yaml.SafeLoader``: plain YAML only (no Python tags), every
node with its line and column, alias expansion bounded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netinspect.errors import (
    ConfigError,
)

_MAX_NODES = 200_000

_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


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
