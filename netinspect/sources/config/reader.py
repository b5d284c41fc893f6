"""Line-tracking YAML on top of ``yaml.SafeLoader``: plain YAML only (no Python tags), every
node with its line and column; size, nesting, node count and alias/merge expansion bounded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from netinspect.errors import (
    ConfigError,
)

# Limits on what one config may hold, each checked while the file is read, so a hostile file
# is refused in a fraction of a second: its size, how deep it nests, how many YAML nodes it
# writes, and how many values those become once aliases (``*a``) and merge keys (``<<``)
# repeat them. Real configs stay far below (decoder_59b.yaml: 1 KiB, 4 levels, ~60 nodes).
MAX_CONFIG_BYTES = 256 * 1024
MAX_DEPTH = 50
MAX_NODES = 5_000
MAX_VALUES = 50_000

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


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _TooBig(Exception):
    """A limit was reached while composing; ``mark`` is where."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.mark = mark


class _LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader``; we compose its node tree and keep each node's start mark. Nodes
    are counted and nesting is measured as they are composed: the composer recurses once per
    level, so a 100,000-deep file must be stopped before Python's recursion limit is."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooBig(f"nested more than {MAX_DEPTH} levels deep", self._mark())
            if self.composed > MAX_NODES:
                raise _TooBig(f"more than {MAX_NODES:,} YAML nodes", self._mark())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def fetch_more_tokens(self) -> None:
        # The scanner reads up to 1,024 characters ahead while a ``[`` could still start a
        # key, with work that grows with the number of open brackets: stop a run of them here.
        super().fetch_more_tokens()
        if self.flow_level > MAX_DEPTH:
            raise _TooBig(f"nested more than {MAX_DEPTH} levels deep", self.get_mark())

    def _mark(self) -> Any:
        event = self.peek_event() if self.check_event() else None  # type: ignore[no-untyped-call]
        return getattr(event, "start_mark", None)


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
            return None if root is None else self._convert(loader, root, 1)
        except _TooBig as exc:
            mark = exc.mark
            line = mark.line + 1 if mark is not None else None
            col = mark.column + 1 if mark is not None else None
            raise self.error(f"config refused: {exc}", line, col) from None
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

    def _convert(self, loader: _LineLoader, node: yaml.Node, depth: int) -> Node:
        """One node as a located ``Node``. Each visit counts, so an alias repeated a million
        times (directly, or through merge keys) is refused once ``MAX_VALUES`` is passed,
        before the repeats are built."""
        self.count += 1
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if self.count > MAX_VALUES:
            raise self.error(
                f"config refused: it expands to more than {MAX_VALUES:,} values "
                "(aliases and merge keys repeat what they name)",
                line,
                col,
            )
        if depth > MAX_DEPTH:
            # Only aliases get here (the composer checked the written nesting): ``&a [*a]``.
            raise self.error(
                f"config refused: nested more than {MAX_DEPTH} levels deep through aliases",
                line,
                col,
            )
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
            return Node([self._convert(loader, item, depth + 1) for item in node.value], line, col)
        assert isinstance(node, yaml.MappingNode)
        values: dict[Any, Node] = {}
        keys: dict[Any, Node] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # ``<<: *a`` / ``<<: [*a, *b]``, resolved here rather than by PyYAML's
                # flatten_mapping, which copies every merged pair before anything is counted.
                merged += self._merged(loader, value_node, depth + 1)
                continue
            key = self._convert(loader, key_node, depth + 1)
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
            values[key.value] = self._convert(loader, value_node, depth + 1)
        if merged:
            # YAML's merge: the mapping's own keys win, then the merged mappings in order.
            inherited_values: dict[Any, Node] = {}
            inherited_keys: dict[Any, Node] = {}
            for source in merged:
                assert source.keys is not None
                for name, value in source.value.items():
                    if name not in inherited_values:
                        inherited_values[name] = value
                        inherited_keys[name] = source.keys[name]
            values = {**inherited_values, **values}
            keys = {**inherited_keys, **keys}
        return Node(values, line, col, keys)

    def _merged(self, loader: _LineLoader, node: yaml.Node, depth: int) -> list[Node]:
        """The mappings a merge key names, converted (and counted) like any other value."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                raise self.error(
                    "a merge key (<<) takes a mapping or a list of mappings",
                    item.start_mark.line + 1,
                    item.start_mark.column + 1,
                )
            out.append(self._convert(loader, item, depth + 1))
        return out


def read_config(path: str) -> Node | None:
    """The file's YAML as located nodes (None for an empty file)."""
    reader = _Reader(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config refused: larger than {MAX_CONFIG_BYTES // 1024} KiB", path)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    return reader.read(text)
