"""The JSON bodies of the API, field by field, from the component schemas of the OpenAPI
document.

The endpoint sections name a body by its schema (`OrderOut`, `CartOut`, `RefundIn`); this is
where a name leads: every field with its type, whether it is required, its rules and its
description, as the document states them. A field of another schema's type links to that
schema, so an order reads down to its lines and its money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.docs import markdown as md
from apps.docs.examples import Json, schema_name


def anchor(name: str) -> str:
    """The heading id of a schema's section on the API reference page."""
    return f"schema-{name.lower().replace('_', '-')}"


def link(name: str, page: str) -> str:
    """`name` as a link to its section; `page` is the API reference page as seen from the
    page the link is on (empty on that page itself)."""
    return f"[{md.code(name)}]({page}#{anchor(name)})"


def type_of(schema: Mapping[str, Any], page: str = "") -> str:
    """A field's type in a few words: `string (date-time)`, `array of OrderLineOut`,
    `string or null`, with schema names linked."""
    name = schema_name(schema)
    if name is not None and not name.endswith("[]"):
        return link(name, page)
    options = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(options, list):
        return " or ".join(type_of(option, page) for option in options)
    kind = schema.get("type")
    if kind == "array":
        return "array of " + type_of(schema.get("items", {}), page)
    if kind == "object" or "properties" in schema:
        extra = schema.get("additionalProperties")
        return "object" if extra in (None, False, True, {}) else "object of " + type_of(extra, page)
    if isinstance(kind, list):
        return " or ".join(str(item) for item in kind)
    words = str(kind or "any")
    if "format" in schema:
        words += f" ({schema['format']})"
    return words


def _rules(schema: Mapping[str, Any]) -> str:
    """What a value must keep beyond its type: bounds, lengths, pattern, choices, default."""
    words = []
    for key, say in (
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
    ):
        if key in schema:
            words.append(say.format(schema[key]))
    if "pattern" in schema:
        words.append(f"pattern {md.code(str(schema['pattern']))}")
    if isinstance(schema.get("enum"), list):
        words.append("one of " + ", ".join(md.code(str(value)) for value in schema["enum"]))
    if "const" in schema:
        words.append(f"always {md.code(str(schema['const']))}")
    if schema.get("default") is not None:
        words.append(f"default {md.code(md.as_json(schema['default']))}")
    return ", ".join(words)


def _field_rules(schema: Mapping[str, Any]) -> str:
    options = schema.get("oneOf") or schema.get("anyOf") or []
    parts = [_rules(schema), *(_rules(option) for option in options)]
    return "; ".join(part for part in parts if part)


def section(name: str, schema: Mapping[str, Any], *, level: int = 3) -> str:
    parts = [f"{'#' * level} {md.code(name)} {{ #{anchor(name)} }}"]
    if schema.get("description"):
        parts.append(md.text(str(schema["description"])))
    properties: Mapping[str, Any] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", ()))
        rows = [
            (
                md.code(field),
                md.cell(type_of(sub)),
                "yes" if field in required else "no",
                md.cell(_field_rules(sub)) or "—",
                md.cell(str(sub.get("description", ""))) or "—",
            )
            for field, sub in properties.items()
        ]
        parts.append(md.table(("Field", "Type", "Required", "Rules", "Description"), rows))
        if schema.get("additionalProperties") is False:
            parts.append("Any other field is refused (400).")
    else:
        parts.append(f"A {type_of(schema)}" + (f": {_rules(schema)}." if _rules(schema) else "."))
    return "\n\n".join(parts)


def sections(document: Json, *, level: int = 3) -> str:
    """Every component schema, by name."""
    found: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
    return "\n\n".join(
        section(name, found[name], level=level) for name in sorted(found, key=str.lower)
    )
