"""A commit's writes in one statement on PostgreSQL: the rows the unit staged for insertion
(Session.stage: a checkout's new order), every version-checked UPDATE of the unit and its
outbox rows as data-modifying CTEs of one statement, one round trip where they took one each
(the outbox rows one for all). A checkout's two commits sent 3 and 3 of them.

Each staged row is inserted unless it clashes on its id or a unique column (ON CONFLICT DO
NOTHING) and the statement answers how many went in: a clash is AlreadyExists, and the unit
rolls back. Foreign keys between the statement's rows (a cart's UPDATE naming the order the
same statement inserts) hold: PostgreSQL checks them at the end of the statement.

Each UPDATE returns the row it changed; the statement answers how many each changed, so a
version check that failed (another unit changed the row since it was read) is found as
before, and the unit rolls back: none of the statement's writes is kept. The UPDATEs come in
the session's fixed (table, id) order, and PostgreSQL runs each CTE as the statement first
reads it, in that order, so two units writing the same rows still take their locks in the
same order (a deadlock all the same is a transient conflict, retried as any other).

One statement object per shape (the tables, the columns each UPDATE sets, the number of
outbox rows and whether they carry a trace), built once and kept, so the driver compiles it
once (driver_statements.py). Where it does not apply, the commit writes as before: on any
other database or driver, with child rows to rewrite (a product's variants), or with more
writes than `MOST_UPDATES` and `MOST_EVENTS` (shapes stay few).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from adapters.db import driver_statements as driver
from adapters.db.tables import outbox
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict

# The most rows written (inserted and updated) and outbox rows one statement takes: a
# checkout's commits write 3 + its number of lines and 2 rows, with 2-4 events (a cart of more
# lines more); a larger commit writes as before. Shapes stay few: one per number of lines.
MOST_UPDATES = 12
MOST_EVENTS = 16

_Columns = tuple[tuple[str, tuple[str, ...]], ...]  # (table, its columns) per row updated
# (table, its columns, how many rows) per INSERT; the rows updated; the outbox's columns and
# the number of outbox rows.
_Shape = tuple[tuple[tuple[str, tuple[str, ...], int], ...], _Columns, tuple[str, ...], int]
_STATEMENTS: dict[_Shape, Select[Any]] = {}


def applies(connection: AsyncConnection, rows: int, events: int) -> bool:
    """Whether a commit of `rows` rows written (inserted or updated) and `events` outbox rows
    goes in one statement."""
    return (
        1 <= rows <= MOST_UPDATES
        and events <= MOST_EVENTS
        and connection.dialect.name == "postgresql"
        and driver.on_driver(connection)
    )


async def write(
    connection: AsyncConnection,
    updates: Sequence[tuple[Table, str, Mapping[str, Any]]],
    events: Sequence[Mapping[str, Any]],
    inserts: Sequence[tuple[Table, str, Sequence[Mapping[str, Any]]]] = (),
) -> None:
    """Each of `inserts` (table, what its rows are, the rows), each of `updates` (table, id,
    the parameters of `session`'s version-checked UPDATE: the columns set, `id_` and
    `stored_version_`) and each outbox row of `events`, in one statement. AlreadyExists when
    a row to insert clashed, ConcurrencyConflict when a row's version was not the one read."""
    event_columns = tuple(events[0]) if events else ()
    shape: _Shape = (
        tuple((table.name, tuple(rows[0]), len(rows)) for table, _, rows in inserts),
        tuple(
            (table.name, tuple(name for name in changes if not name.endswith("_")))
            for table, _, changes in updates
        ),
        event_columns,
        len(events),
    )
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = _statement(
            [table for table, _, _ in inserts], [table for table, _, _ in updates], shape
        )
    parameters: dict[str, Any] = {}
    for k, (_, _, rows) in enumerate(inserts):
        for n, row in enumerate(rows):
            parameters.update({f"i{k}_{n}_{name}": value for name, value in row.items()})
    for k, (_, _, changes) in enumerate(updates):
        parameters.update({f"u{k}_{name}": value for name, value in changes.items()})
    for k, row in enumerate(events):
        parameters.update({f"o{k}_{name}": value for name, value in row.items()})
    counts = (await driver.run(connection, statement, parameters)).tuples()[0]
    for (table, key, rows), count in zip(inserts, counts, strict=False):
        if count != len(rows):
            raise AlreadyExists(f"{table.name} {key}, or one of its unique values, exists")
    for (table, key, _), count in zip(updates, counts[len(inserts) :], strict=False):
        if count != 1:
            raise ConcurrencyConflict(f"{table.name} {key} was changed by someone else")


def _statement(inserted: Sequence[Table], tables: Sequence[Table], shape: _Shape) -> Select[Any]:
    inserts, updates, event_columns, event_count = shape
    counts = []
    for k, (table, (_, columns, count)) in enumerate(zip(inserted, inserts, strict=True)):
        rows = [
            {name: bindparam(f"i{k}_{n}_{name}", type_=table.c[name].type) for name in columns}
            for n in range(count)
        ]
        key = next(iter(table.primary_key.columns))
        added = (
            postgresql.insert(table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(key)
            .cte(f"i{k}")
        )
        counts.append(select(func.count()).select_from(added).scalar_subquery())
    for k, (table, (_, columns)) in enumerate(zip(tables, updates, strict=True)):
        changed = (
            update(table)
            .where(
                table.c.id == bindparam(f"u{k}_id_", type_=table.c.id.type),
                table.c.version == bindparam(f"u{k}_stored_version_", type_=table.c.version.type),
            )
            .values({name: bindparam(f"u{k}_{name}", type_=table.c[name].type) for name in columns})
            .returning(table.c.id)
            .cte(f"u{k}")
        )
        counts.append(select(func.count()).select_from(changed).scalar_subquery())
    if event_count:
        rows = [
            {name: bindparam(f"o{k}_{name}", type_=outbox.c[name].type) for name in event_columns}
            for k in range(event_count)
        ]
        written = insert(outbox).values(rows).returning(outbox.c.id).cte("written")
        counts.append(select(func.count()).select_from(written).scalar_subquery())
    return select(*counts)
