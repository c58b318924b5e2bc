"""Small Markdown builders shared by the generators: tables, code blocks, escaping."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def text(value: str) -> str:
    """Prose from the code (descriptions, docstrings) made safe for Markdown: `<` and `>`
    outside code spans would read as HTML tags and vanish from the page."""
    parts: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(value):
        parts.append(_escape(value[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_escape(value[last:]))
    return "".join(parts)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(value: str) -> str:
    """`text` for a table cell: one line, and no `|` that would split the cell."""
    return " ".join(text(value).split()).replace("|", "&#124;")


def code(value: str) -> str:
    """An inline code span, wide enough for backticks inside."""
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def fenced(language: str, body: str, *, indent: str = "") -> str:
    lines = [f"```{language}", *body.rstrip("\n").split("\n"), "```"]
    return "\n".join(f"{indent}{line}" if line else "" for line in lines)


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def first_line(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    if not doc:
        return ""
    paragraph = doc.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def type_name(kind: Any) -> str:
    """A readable annotation: `tuple[str, ...]`, `str | None`, `Money`."""
    if kind is type(None) or kind is None:
        return "None"
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        inner = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in args)
        return f"{name}[{inner}]"
    if isinstance(kind, type):
        return kind.__name__
    return str(kind)
