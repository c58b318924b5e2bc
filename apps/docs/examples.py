"""Request and response examples for the endpoint pages, from the OpenAPI document.

An example written in the document (on the media type, or on its schema) is used as it is.
Where there is none, the schema is rendered as a skeleton: every property with a value of
its type, so the page still shows the shape of the body; the page says which one it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]

_FORMATS = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "email": "ada@example.com",
    "uuid": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
    "uri": "https://shop.example",
}
_MAX_DEPTH = 8


class Example:
    """A body to show, whether the document wrote it or the schema's shape made it, and the
    document's one-line summary of it (an error example's is its problem `code`)."""

    def __init__(self, value: Any, *, documented: bool, summary: str = "") -> None:
        self.value = value
        self.documented = documented
        self.summary = summary


def resolve(document: Json, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow `$ref` (and a lone `allOf` wrapper around one) to the schema it names."""
    seen: set[str] = set()
    while True:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            schema = _component(document, ref)
            continue
        parts = schema.get("allOf")
        if isinstance(parts, list) and len(parts) == 1 and "$ref" in parts[0]:
            schema = parts[0]
            continue
        return schema


def schema_name(schema: Mapping[str, Any]) -> str | None:
    """The component a schema refers to, if it refers to one."""
    ref = schema.get("$ref")
    parts = schema.get("allOf")
    if ref is None and isinstance(parts, list) and len(parts) == 1:
        ref = parts[0].get("$ref")
    if ref is None and schema.get("type") == "array":
        inner = schema_name(schema.get("items", {}))
        return None if inner is None else f"{inner}[]"
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _component(document: Json, ref: str) -> Mapping[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def example_of(document: Json, media: Mapping[str, Any]) -> Example:
    """The example of a media type object (`content["application/json"]`)."""
    examples = media.get("examples")
    if isinstance(examples, Mapping) and examples:
        first = next(iter(examples.values()))
        if isinstance(first, Mapping) and "value" in first:
            return Example(first["value"], documented=True, summary=str(first.get("summary", "")))
    if "example" in media:
        return Example(media["example"], documented=True)
    schema = media.get("schema", {})
    found = _schema_example(document, schema)
    if found is not None:
        return found
    return Example(skeleton(document, schema), documented=False)


def _schema_example(document: Json, schema: Mapping[str, Any], depth: int = 0) -> Example | None:
    """An example written on the schema, or on the one schema it refers to."""
    if depth > _MAX_DEPTH:
        return None
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return Example(examples[0], documented=True)
    if "example" in schema:
        return Example(schema["example"], documented=True)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _schema_example(document, _component(document, ref), depth + 1)
    parts = schema.get("allOf")
    if isinstance(parts, list) and len(parts) == 1:
        return _schema_example(document, parts[0], depth + 1)
    return None


def skeleton(document: Json, schema: Mapping[str, Any], depth: int = 0) -> Any:
    """A value of the schema's shape, preferring the schema's own examples and defaults."""
    if depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return skeleton(document, resolve(document, schema), depth + 1)
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if schema.get("default") is not None:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = skeleton(document, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next((o for o in options if o.get("type") != "null"), options[0])
            return skeleton(document, chosen, depth + 1)
    return _of_type(document, schema, depth)


def _of_type(document: Json, schema: Mapping[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: skeleton(document, sub, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [skeleton(document, schema.get("items", {}), depth + 1)]
    if kind == "string":
        return _FORMATS.get(str(schema.get("format")), "string")
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None
