"""Endpoint tables and details from the OpenAPI document the app generates.

Each service page gets a table of its endpoints (method, path, summary, auth, required
headers) and, per endpoint, its parameters, responses and a request and a response example.
Auth comes from the operation's `security` and from the route's guards (`staff_only`), which
the document does not show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apps.docs import markdown as md
from apps.docs.examples import Example, Json, example_of, schema_name
from apps.docs.schemas import link

# Where the body schemas are described, as seen from a service page.
SCHEMAS_PAGE = "../reference/api.md"

METHODS = ("get", "post", "put", "patch", "delete")
SUCCESS = re.compile(r"2\d\d")
# Security schemes by the words the pages use for them.
SCHEMES = {"BearerToken": "token"}


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    method: str  # upper case
    path: str
    operation: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]
    guards: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return str(self.operation.get("summary", ""))

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.operation.get("tags", ()))

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", f"{self.method} {self.path}".lower()).strip("-")

    @property
    def auth(self) -> str:
        requirements = self.operation.get("security") or []
        schemes = sorted({name for requirement in requirements for name in requirement})
        if "staff_only" in self.guards:
            return "staff token"
        if not schemes:
            return "none"
        names = " or ".join(SCHEMES.get(name, name) for name in schemes)
        optional = any(not requirement for requirement in requirements)
        return f"{names} (optional)" if optional else names

    @property
    def required_headers(self) -> tuple[str, ...]:
        return tuple(
            str(parameter["name"])
            for parameter in self.parameters
            if parameter.get("in") == "header" and parameter.get("required")
        )


def endpoints(document: Json, guards: Mapping[tuple[str, str], tuple[str, ...]]) -> list[Endpoint]:
    found: list[Endpoint] = []
    for path, item in sorted(document.get("paths", {}).items()):
        shared = tuple(item.get("parameters", ()))
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    operation=operation,
                    parameters=shared + tuple(operation.get("parameters", ())),
                    guards=guards.get((method.upper(), path), ()),
                )
            )
    return found


def in_tag_order(found: Sequence[Endpoint], document: Json) -> list[Endpoint]:
    """The endpoints in the order of the document's `tags` (a shopper's way through the shop,
    as /docs lists them), by path within a tag; an untagged or undeclared one comes last."""
    rank = {str(tag["name"]): index for index, tag in enumerate(document.get("tags", ()))}
    return sorted(
        found,
        key=lambda item: min((rank.get(tag, len(rank)) for tag in item.tags), default=len(rank)),
    )


def summary_table(items: Sequence[Endpoint], *, link: bool = True) -> str:
    if not items:
        return "_No HTTP endpoints._"
    rows = [
        (
            md.code(item.method),
            md.code(item.path),
            f"[{md.cell(item.summary)}](#{item.anchor})" if link else md.cell(item.summary),
            item.auth,
            ", ".join(md.code(name) for name in item.required_headers) or "—",
        )
        for item in items
    ]
    return md.table(("Method", "Path", "Summary", "Auth", "Required headers"), rows)


def details(
    document: Json, items: Iterable[Endpoint], *, level: int = 3, schemas: str = SCHEMAS_PAGE
) -> str:
    """Each endpoint's section; `schemas`: the page describing the body schemas, as seen from
    the page these sections go on."""
    return "\n\n".join(_detail(document, item, level, schemas) for item in items)


def _detail(document: Json, item: Endpoint, level: int, schemas: str) -> str:
    parts = [
        f"{'#' * level} {md.code(f'{item.method} {item.path}')} {{ #{item.anchor} }}",
        f"**{md.text(item.summary)}.** {md.text(str(item.operation.get('description', '')))}",
        f"Auth: {item.auth}. Tags: {', '.join(item.tags) or 'none'}. "
        f"Operation id: {md.code(str(item.operation.get('operationId', '')))}.",
    ]
    if item.parameters:
        parts.append(_parameters(item.parameters))
    body = item.operation.get("requestBody")
    if isinstance(body, Mapping):
        parts.append(_request(document, body, schemas))
    parts.append(_responses(document, item.operation.get("responses", {}), schemas))
    return "\n\n".join(part for part in parts if part)


def _parameters(parameters: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            md.code(str(parameter.get("name"))),
            str(parameter.get("in")),
            "yes" if parameter.get("required") else "no",
            md.cell(constraints(parameter.get("schema", {}))),
            md.cell(str(parameter.get("description", ""))),
        )
        for parameter in parameters
    ]
    return md.table(("Parameter", "In", "Required", "Schema", "Description"), rows)


def constraints(schema: Mapping[str, Any]) -> str:
    """A parameter's schema in a few words: `integer, 1 to 100, default 20`."""
    kinds: list[str] = []
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    for option in options:
        kind = option.get("type")
        if kind and kind != "null":
            kinds.append(str(kind))
    words = [" or ".join(kinds) or "any"]
    if "minimum" in schema and "maximum" in schema:
        words.append(f"{_number(schema['minimum'])} to {_number(schema['maximum'])}")
    elif "minimum" in schema:
        words.append(f"at least {_number(schema['minimum'])}")
    elif "maximum" in schema:
        words.append(f"at most {_number(schema['maximum'])}")
    if "maxLength" in schema:
        words.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        words.append(f"pattern {md.code(str(schema['pattern']))}")
    if isinstance(schema.get("enum"), list):
        words.append("one of " + ", ".join(md.code(str(value)) for value in schema["enum"]))
    if schema.get("default") is not None:
        words.append(f"default {md.code(str(schema['default']))}")
    return ", ".join(words)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _body(media_type: str, media: Mapping[str, Any], schemas: str) -> str:
    """A body's schema, linked to its fields, or its media type when it has no schema."""
    name = schema_name(media.get("schema", {}))
    if name is None:
        return md.code(media_type)
    inner = name.removesuffix("[]")
    return link(inner, schemas) + (" (array)" if name.endswith("[]") else "")


def _request(document: Json, body: Mapping[str, Any], schemas: str) -> str:
    blocks = []
    for media_type, media in sorted(body.get("content", {}).items()):
        name = schema_name(media.get("schema", {})) or "inline schema"
        blocks.append(
            _example_block(
                f"Request body ({md.code(media_type)}, {md.code(name)})",
                media_type,
                example_of(document, media),
            )
        )
    content = body.get("content", {})
    fields = ", ".join(_body(kind, media, schemas) for kind, media in sorted(content.items()))
    required = "required" if body.get("required") else "optional"
    return f"Request body: {required}, {fields}.\n\n" + "\n\n".join(blocks)


def _responses(document: Json, responses: Mapping[str, Any], schemas: str) -> str:
    """The status table, then an example of each success body, and of each error body the
    document has an example of (a skeleton of a Problem would teach nothing: its examples
    show which `code` each status answers with)."""
    rows = []
    examples = []
    for status, response in sorted(responses.items()):
        content = response.get("content", {})
        bodies = ", ".join(
            _body(media_type, media, schemas) for media_type, media in sorted(content.items())
        )
        rows.append((md.code(status), md.cell(str(response.get("description", ""))), bodies))
        for media_type, media in sorted(content.items()):
            example = example_of(document, media)
            if SUCCESS.fullmatch(status) or example.documented:
                examples.append(
                    _example_block(
                        f"Response {md.code(status)} ({md.code(media_type)})", media_type, example
                    )
                )
    parts = [md.table(("Status", "Meaning", "Body"), rows)] if rows else []
    parts.extend(examples)
    return "\n\n".join(parts)


def _example_block(title: str, media_type: str, example: Example) -> str:
    kind = "example" if example.documented else "example skeleton from the schema"
    if example.summary:
        # A title sits in double quotes: the summary must not end it early.
        summary = md.text(example.summary).replace('"', "'")
        kind += f" ({summary})"
    # A text body (the stock stream's `text/event-stream`) is shown as the bytes on the wire,
    # one line a line, not as a JSON string full of escaped line breaks.
    if isinstance(example.value, str) and not media_type.endswith("json"):
        language = "text"
        body = example.value.replace("\r\n", "\n")
    else:
        language = "json"
        body = md.as_json(example.value)
    return f'??? example "{title}: {kind}"\n\n' + md.fenced(language, body, indent="    ")
