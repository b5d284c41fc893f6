"""Check a document read back from a file against a shipped JSON Schema, without jsonschema.

jsonschema stays a test dependency: the package's schemas use a small part of JSON Schema
(2020-12), and this covers exactly that part: ``type``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``enum``, ``const``,
``minimum``/``exclusiveMinimum``, ``oneOf``, ``anyOf`` and local ``$ref`` (``#/$defs/...``). A keyword
outside it raises ``ValueError`` (the schema test runs every shipped schema through this).
Stricter in one way: an ``integer`` is a JSON number written without a fraction (1.0 is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "deprecated"})
_KNOWN = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "enum", "const", "minimum", "exclusiveMinimum", "oneOf", "anyOf", "$ref",
}  # fmt: skip


_ARTICLES = {
    "object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean",
}  # fmt: skip


class SchemaMismatch(ValueError):
    """The document does not fit the schema; the text names where (``layers[3].name``)."""


def _is_type(value: Any, name: str) -> bool:
    match name:
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "null":
            return value is None
    raise ValueError(f"unknown JSON Schema type {name!r}")


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(slots=True)
class _Problem:
    path: list[str]  # innermost first: built on the way back up, only on a mismatch
    message: str

    def text(self) -> str:
        where = "".join(reversed(self.path)).removeprefix(".")
        return f"{where or 'the document'}: {self.message}"


class _Validator:
    """``error(value, schema)``: the first mismatch, or None. Plain recursion
    (JSON read back is at most ``fileio.MAX_JSON_DEPTH`` deep); each schema node's keywords are
    checked once, and arrays of plain integers or strings are checked in one pass."""

    def __init__(self, schema: dict[str, Any], max_string: int | None) -> None:
        self.root = schema
        self.max_string = max_string
        self._checked: set[int] = set()
        self._refs: dict[str, dict[str, Any]] = {}

    def resolve(self, ref: str) -> dict[str, Any]:
        if ref not in self._refs:
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref is supported, not {ref!r}")
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node[part]
            self._refs[ref] = node
        return self._refs[ref]

    def error(self, value: Any, schema: dict[str, Any]) -> _Problem | None:
        if id(schema) not in self._checked:
            unknown = set(schema) - _KNOWN
            if unknown:
                raise ValueError(f"unsupported JSON Schema keyword(s) {sorted(unknown)}")
            self._checked.add(id(schema))
        if "$ref" in schema:
            problem = self.error(value, self.resolve(schema["$ref"]))
            if problem is not None:
                return problem
        if "oneOf" in schema:
            fits = sum(self.error(value, option) is None for option in schema["oneOf"])
            if fits != 1:
                return _Problem([], f"{_shown(value)} fits none of the allowed forms")
        if "anyOf" in schema and all(self.error(value, o) is not None for o in schema["anyOf"]):
            return _Problem([], f"{_shown(value)} fits none of the allowed forms")
        kind = schema.get("type")
        if kind is not None:
            kinds: list[str] = kind if isinstance(kind, list) else [kind]
            if not any(_is_type(value, k) for k in kinds):
                named = " or ".join(_ARTICLES.get(k) or k for k in kinds)
                return _Problem([], f"{_shown(value)} is not {named}")
        if isinstance(value, str):
            if self.max_string is not None and len(value) > self.max_string:
                limit = f"the limit is {self.max_string:,}"
                return _Problem([], f"a string of {len(value):,} characters ({limit})")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                return _Problem([], f"{value} is below {schema['minimum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                return _Problem([], f"{value} is not above {schema['exclusiveMinimum']}")
        if "enum" in schema and value not in schema["enum"]:
            return _Problem([], f"{_shown(value)} is not one of {schema['enum']}")
        if "const" in schema and value != schema["const"]:
            return _Problem([], f"{_shown(value)} is not {schema['const']!r}")
        if isinstance(value, dict):
            return self.object_error(value, schema)
        if isinstance(value, list):
            return self.array_error(value, schema)
        return None

    def array_error(self, value: list[Any], schema: dict[str, Any]) -> _Problem | None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            return _Problem([], f"fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return _Problem([], f"more than {schema['maxItems']} items")
        items = schema.get("items")
        if not isinstance(items, dict):
            return None
        if "$ref" in items and len(items) == 1:
            items = self.resolve(items["$ref"])
        if set(items) <= {"type", "minimum", "description"} and items.get("type") == "integer":
            # Shapes: one pass over plain ints (bool is an int in Python, not in JSON).
            low = items.get("minimum")
            if all(type(v) is int and (low is None or v >= low) for v in value):
                return None
        for i, item in enumerate(value):
            problem = self.error(item, items)
            if problem is not None:
                problem.path.append(f"[{i}]")
                return problem
        return None

    def object_error(self, value: dict[str, Any], schema: dict[str, Any]) -> _Problem | None:
        for key in schema.get("required", ()):
            if key not in value:
                return _Problem([], f"{key!r} is missing")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                problem = self.error(item, properties[key])
            elif extra is False:
                return _Problem([], f"unexpected key {key!r}")
            elif isinstance(extra, dict):
                problem = self.error(item, extra)
            else:
                continue
            if problem is not None:
                problem.path.append(f".{key}")
                return problem
        return None


def check_against(document: Any, schema: dict[str, Any], *, max_string: int | None = None) -> None:
    """Raise ``SchemaMismatch`` naming the first place ``document`` does not fit ``schema``
    (a string longer than ``max_string`` characters, when given, does not fit either)."""
    problem = _Validator(schema, max_string).error(document, schema)
    if problem is not None:
        raise SchemaMismatch(problem.text())
