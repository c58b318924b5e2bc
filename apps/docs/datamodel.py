"""Tables, columns, keys, constraints and indexes from the SQLAlchemy metadata, and the ER
diagram in Mermaid. Types are shown as PostgreSQL and SQLite each create them.

The diagram draws two kinds of relationship: foreign keys as solid lines, and the links kept
by id without a foreign key (`adapters.db.logical_links`, which is most of them, since no
foreign key crosses a context) as dashed ones."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import CheckConstraint, Column, ForeignKeyConstraint, Index, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from adapters.db.logical_links import LOGICAL_LINKS, LogicalLink
from apps.docs import markdown as md

POSTGRESQL: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
SQLITE: Dialect = sqlite.dialect()


def sql_type(column: Column[object], dialect: Dialect) -> str:
    return str(column.type.compile(dialect=dialect))


def _keys(table: Table, column: Column[object]) -> list[str]:
    keys = []
    if column.primary_key:
        keys.append("PK")
    if column.foreign_keys:
        keys.extend(f"FK → {fk.target_fullname}" for fk in sorted(column.foreign_keys, key=str))
    keys.extend(
        f"→ {link.target}.{', '.join(link.target_columns)} (by id"
        + (f", in {md.code(link.inside)}" if link.inside else "")
        + ")"
        for link in _links_of(table.name, column.name)
    )
    if column.unique or any(
        isinstance(constraint, UniqueConstraint) and list(constraint.columns) == [column]
        for constraint in table.constraints
    ):
        keys.append("unique")
    return keys


def _links_of(table: str, column: str) -> list[LogicalLink]:
    return [link for link in LOGICAL_LINKS if link.table == table and column in link.columns]


def _default(column: Column[object]) -> str:
    default = column.server_default
    if default is None:
        return ""
    argument = getattr(default, "arg", None)
    return md.code(str(getattr(argument, "text", argument)))


def table_section(table: Table, *, level: int = 3) -> str:
    rows = [
        (
            md.code(column.name),
            md.code(sql_type(column, POSTGRESQL)),
            md.code(sql_type(column, SQLITE)),
            "yes" if column.nullable and not column.primary_key else "no",
            ", ".join(_keys(table, column)),
            _default(column),
        )
        for column in table.columns
    ]
    parts = [
        f"{'#' * level} {md.code(table.name)}",
        md.table(("Column", "PostgreSQL", "SQLite", "Null", "Keys", "Server default"), rows),
    ]
    extras = _constraints(table) + _indexes(table)
    if extras:
        parts.append("\n".join(extras))
    return "\n\n".join(parts)


def _constraints(table: Table) -> list[str]:
    lines = []
    for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
        if isinstance(constraint, CheckConstraint):
            lines.append(
                f"- check {md.code(str(constraint.name))}: {md.code(str(constraint.sqltext))}"
            )
        elif isinstance(constraint, UniqueConstraint) and len(constraint.columns) > 1:
            columns = ", ".join(column.name for column in constraint.columns)
            lines.append(f"- unique {md.code(str(constraint.name))} on ({columns})")
        elif isinstance(constraint, ForeignKeyConstraint):
            target = constraint.referred_table.name
            action = f", on delete {constraint.ondelete.lower()}" if constraint.ondelete else ""
            columns = ", ".join(constraint.column_keys)
            lines.append(
                f"- foreign key {md.code(str(constraint.name))}: ({columns}) → "
                f"{md.code(target)}{action}"
            )
    return lines


def _indexes(table: Table) -> list[str]:
    return [_index(index) for index in sorted(table.indexes, key=lambda i: str(i.name))]


def _index(index: Index) -> str:
    columns = ", ".join(
        str(getattr(expression, "name", expression)) for expression in index.expressions
    )
    kind = "unique index" if index.unique else "index"
    where = index.dialect_options["postgresql"].get("where")
    partial = f" where {md.code(str(where))}" if where is not None else ""
    return f"- {kind} {md.code(str(index.name))} on ({columns}){partial}"


def _mermaid_type(column: Column[object]) -> str:
    return re.sub(r"\W+", "_", sql_type(column, POSTGRESQL)).strip("_").lower()


def er_diagram(tables: Sequence[Table], links: Sequence[LogicalLink] = LOGICAL_LINKS) -> str:
    """A Mermaid ER diagram of `tables`, the foreign keys among them (solid lines) and the
    `links` kept by id among them (dashed lines)."""
    lines = ["erDiagram"]
    names = {table.name for table in tables}
    for table in tables:
        lines.append(f"    {table.name} {{")
        for column in table.columns:
            keys = [
                key
                for key, present in (
                    ("PK", column.primary_key),
                    ("FK", bool(column.foreign_keys)),
                    ("UK", bool(column.unique)),
                )
                if present
            ]
            marks = f" {', '.join(keys)}" if keys else ""
            lines.append(f"        {_mermaid_type(column)} {column.name}{marks}")
        lines.append("    }")
    lines.extend(_relations(tables, names))
    lines.extend(
        f'    {link.target} ||..{"o|" if link.one else "o{"} {link.table} : "{link.label}"'
        for link in links
        if link.table in names and link.target in names
    )
    return md.fenced("mermaid", "\n".join(lines))


def _relations(tables: Iterable[Table], names: set[str]) -> list[str]:
    lines = []
    for table in tables:
        for constraint in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            parent = constraint.referred_table.name
            if parent in names:
                label = ", ".join(constraint.column_keys)
                lines.append(f'    {parent} ||--o{{ {table.name} : "{label}"')
    return lines


def links_table(links: Sequence[LogicalLink] = LOGICAL_LINKS) -> str:
    """The links kept by id, each with what it means."""
    rows = [
        (
            md.code(f"{link.table}.{', '.join(link.columns)}")
            + (f" ({md.code(link.inside)})" if link.inside else ""),
            md.code(f"{link.target}.{', '.join(link.target_columns)}"),
            "at most one" if link.one else "any number",
            md.cell(link.why),
        )
        for link in links
    ]
    return md.table(("Column", "Refers to", "Rows per target", "Meaning"), rows)
