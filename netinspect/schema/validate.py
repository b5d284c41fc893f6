"""Check a document read back from a file against a shipped JSON Schema, without jsonschema.

jsonschema stays a test dependency: the package's schemas use a small part of JSON Schema
(2020-12), and this covers exactly that part: ``type``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``enum``, ``const``,
``minimum``/``exclusiveMinimum``, ``oneOf`` and local ``$ref`` (``#/$defs/...``). A keyword
outside it raises ``ValueError`` (the schema test runs every shipped schema through this).
Stricter in one way: an ``integer`` is a JSON number written without a fraction (1.0 is not).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})
_KNOWN = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "enum", "const", "minimum", "exclusiveMinimum", "oneOf", "$ref",
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


def _where(path: str) -> str:
    return path or "the document"


class _Validator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema

    def resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return dict(node)

    def errors(self, value: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
        """The first mismatch is enough: a generator, so the caller stops at it."""
        unknown = set(schema) - _KNOWN
        if unknown:
            raise ValueError(f"unsupported JSON Schema keyword(s) {sorted(unknown)}")
        if "$ref" in schema:
            yield from self.errors(value, self.resolve(schema["$ref"]), path)
        if "oneOf" in schema:
            fits = sum(
                next(self.errors(value, option, path), None) is None for option in schema["oneOf"]
            )
            if fits != 1:
                yield f"{_where(path)}: {_shown(value)} fits none of the allowed forms"
                return
        kind = schema.get("type")
        if kind is not None:
            kinds: list[str] = kind if isinstance(kind, list) else [kind]
            if not any(_is_type(value, k) for k in kinds):
                named = " or ".join(_ARTICLES.get(k) or k for k in kinds)
                yield f"{_where(path)}: {_shown(value)} is not {named}"
                return
        if "enum" in schema and value not in schema["enum"]:
            yield f"{_where(path)}: {_shown(value)} is not one of {schema['enum']}"
        if "const" in schema and value != schema["const"]:
            yield f"{_where(path)}: {_shown(value)} is not {schema['const']!r}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                yield f"{_where(path)}: {value} is below {schema['minimum']}"
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                yield f"{_where(path)}: {value} is not above {schema['exclusiveMinimum']}"
        if isinstance(value, dict):
            yield from self.object_errors(value, schema, path)
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                yield f"{_where(path)}: fewer than {schema['minItems']} items"
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                yield f"{_where(path)}: more than {schema['maxItems']} items"
            items = schema.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    yield from self.errors(item, items, f"{path}[{i}]")

    def object_errors(
        self, value: dict[str, Any], schema: dict[str, Any], path: str
    ) -> Iterator[str]:
        for key in schema.get("required", ()):
            if key not in value:
                yield f"{_where(path)}: {key!r} is missing"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in properties:
                yield from self.errors(item, properties[key], where)
            elif extra is False:
                yield f"{_where(path)}: unexpected key {key!r}"
            elif isinstance(extra, dict):
                yield from self.errors(item, extra, where)


def check_against(document: Any, schema: dict[str, Any]) -> None:
    """Raise ``SchemaMismatch`` naming the first place ``document`` does not fit ``schema``."""
    problem = next(_Validator(schema).errors(document, schema, ""), None)
    if problem is not None:
        raise SchemaMismatch(problem)
