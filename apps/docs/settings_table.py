"""The settings table: every `Settings` field, the variable `Settings.from_env` reads it from,
and the value it has when that variable is unset.

The variable names are read from the source of `from_env` itself: each keyword of its
`cls(...)` call is followed through the local names it uses to the `SHOPCORE_*` strings it
passes, so a renamed or added variable shows up here without anyone copying it.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import textwrap
import tokenize

import msgspec

from apps.docs import markdown as md
from apps.settings import Settings

_VARIABLE = re.compile(r"SHOPCORE_[A-Z0-9_]+")


def variables() -> dict[str, tuple[str, ...]]:
    """Settings field -> the environment variables `from_env` reads for it."""
    function = ast.parse(textwrap.dedent(inspect.getsource(Settings.from_env))).body[0]
    assert isinstance(function, ast.FunctionDef)
    local: dict[str, ast.expr] = {}
    call: ast.Call | None = None
    for statement in ast.walk(function):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                local[target.id] = statement.value
        if (
            isinstance(statement, ast.Return)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and statement.value.func.id == "cls"
        ):
            call = statement.value
    if call is None:
        raise ValueError("Settings.from_env does not end in `return cls(...)`")
    return {
        keyword.arg: _strings(keyword.value, local, set())
        for keyword in call.keywords
        if keyword.arg is not None
    }


def _strings(node: ast.AST, local: dict[str, ast.expr], seen: set[str]) -> tuple[str, ...]:
    found: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            if _VARIABLE.fullmatch(child.value):
                found.append(child.value)
        elif isinstance(child, ast.Name) and child.id in local and child.id not in seen:
            found.extend(_strings(local[child.id], local, seen | {child.id}))
    return tuple(dict.fromkeys(found))


def comments() -> dict[str, str]:
    """The comment at the end of a field's line in the `Settings` class, by field."""
    source = textwrap.dedent(inspect.getsource(Settings))
    by_line: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            by_line[token.start[0]] = token.string.lstrip("#").strip()
    found = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.lineno in by_line
        ):
            found[node.target.id] = by_line[node.lineno]
    return found


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return ", ".join(md.code(str(item)) for item in value) or "none"
    return md.code(str(value))


def table() -> str:
    read = variables()
    notes = comments()
    defaults = Settings.from_env({})
    rows = [
        (
            ", ".join(md.code(name) for name in read.get(field.name, ())) or "— (not read)",
            md.code(field.name),
            md.code(md.type_name(field.type)),
            _shown(getattr(defaults, field.name)),
            md.cell(notes.get(field.name, "")),
        )
        for field in msgspec.structs.fields(Settings)
    ]
    header = ("Variable", "Settings field", "Type", "When unset", "Note")
    return md.table(header, rows)
