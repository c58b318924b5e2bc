"""The identity map of one SQL unit of work, and the version-checked writes at commit."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert, Update

from adapters.db import driver_statements as driver
from adapters.db.mappers import AggregateMapper
from shopcore.application.tracking import EventLedger
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict

A = TypeVar("A", bound=Aggregate)
# Writes rows an aggregate keeps in child tables (a product's variants): (conn, new, old|None).
ChildWriter = Callable[[AsyncConnection, Any, Any], Awaitable[None]]


def dialect_insert(connection: AsyncConnection, table: Any) -> Any:
    """The dialect's own INSERT, which knows ON CONFLICT (PostgreSQL and SQLite)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    return insert(table)


def insert_or_skip(connection: AsyncConnection, table: Any) -> Insert:
    """INSERT that skips rows clashing with any unique constraint instead of failing, so a
    clash is reported (rowcount 0) without aborting a PostgreSQL transaction."""
    statement = dialect_insert(connection, table)
    if connection.dialect.name in ("postgresql", "sqlite"):
        return statement.on_conflict_do_nothing()  # type: ignore[no-any-return]
    return statement  # type: ignore[no-any-return]


# Built once per table (and dialect): a statement object built per write cost more than its
# execution's Python (SQLAlchemy's `.values(row)` walks every column each time). The values
# come as execution parameters named after the columns; the WHERE clause's own names end in _.
_UPDATES: dict[str, Update] = {}
_INSERTS: dict[tuple[str, str], Insert] = {}


def _version_checked_update(table: Table) -> Update:
    statement = _UPDATES.get(table.name)
    if statement is None:
        statement = _UPDATES[table.name] = update(table).where(
            table.c.id == bindparam("id_"), table.c.version == bindparam("stored_version_")
        )
    return statement


def keyed_insert(connection: AsyncConnection, table: Table) -> Insert:
    """`insert_or_skip` of `table`, built once per dialect: the values come as parameters
    named after the columns."""
    key = (connection.dialect.name, table.name)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = insert_or_skip(connection, table)
    return statement


async def _insert_row(
    connection: AsyncConnection, table: Table, key: str, row: dict[str, Any]
) -> None:
    """`row` inserted into `table`, or AlreadyExists when its id or a unique value is taken."""
    result = await driver.run(connection, keyed_insert(connection, table), row)
    if result.rowcount != 1:
        raise AlreadyExists(f"{table.name} {key}, or one of its unique values, exists")


@dataclass
class _Entry:
    mapper: AggregateMapper[Any]
    aggregate: Aggregate
    # The row as read (or inserted): a change is a row that differs from it. A row is built
    # by msgspec in microseconds; the deep copy of the aggregate it replaces cost ~10x more.
    pristine_row: dict[str, Any]
    # The aggregate as read, kept only where child rows are rewritten from the difference.
    pristine: Aggregate | None
    stored_version: int  # the version the row has in the database now
    inserted: bool  # inserted by this unit: already at its first version
    # Inserted at commit, not yet sent (`stage`): its row is taken from the aggregate then.
    staged: bool = False

    def changed_row(self) -> dict[str, Any] | None:
        row = self.mapper.to_row(self.aggregate)
        if row != self.pristine_row:
            return row
        # Only child rows changed (a product's variants, at the same `updated_at`): the row
        # is written again anyway, for its version and so that the children are rewritten.
        if self.pristine is not None and self.aggregate != self.pristine:
            return row
        return None


# (id, entry, its row now) of every aggregate whose row changed.
Changes = list[tuple[str, _Entry, dict[str, Any]]]


class Session:
    def __init__(
        self,
        events: EventLedger,
        children: Mapping[str, ChildWriter],
        kept: frozenset[str] = frozenset(),
    ) -> None:
        """`kept`: the tables whose aggregates, as a commit wrote them, this unit's next
        transaction takes instead of reading them again (`keep_written`)."""
        self._events = events
        self._children = children
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._kept_tables = kept
        self._kept: dict[tuple[str, str], Aggregate] = {}

    def known(self, mapper: AggregateMapper[A], key: str) -> A | None:
        entry = self._entries.get((mapper.table.name, key))
        return None if entry is None else entry.aggregate  # type: ignore[return-value]

    def loaded(self, mapper: AggregateMapper[A], aggregate: A, key: str) -> A:
        """Register a freshly read aggregate, or hand back the copy this unit already has."""
        existing = self.known(mapper, key)
        if existing is not None:
            return existing
        self._entries[(mapper.table.name, key)] = _Entry(
            mapper,
            aggregate,
            mapper.to_row(aggregate),
            self._copy_if_children(mapper, aggregate),
            aggregate.version,
            inserted=False,
        )
        return self._events.track(aggregate)

    def _copy_if_children(self, mapper: AggregateMapper[A], aggregate: A) -> A | None:
        return copy.deepcopy(aggregate) if mapper.table.name in self._children else None

    async def insert(
        self, connection: AsyncConnection, mapper: AggregateMapper[A], aggregate: A, key: str
    ) -> None:
        """Insert now, so a clash on id or a unique column surfaces at `add`, not at commit."""
        row = mapper.to_row(aggregate)
        row["version"] = aggregate.version + 1
        await _insert_row(connection, mapper.table, key, row)
        if (children := self._children.get(mapper.table.name)) is not None:
            await children(connection, aggregate, None)
        self._entries[(mapper.table.name, key)] = _Entry(
            mapper,
            aggregate,
            row | {"version": aggregate.version},  # as the aggregate stands until commit
            self._copy_if_children(mapper, aggregate),
            aggregate.version + 1,
            inserted=True,
        )
        self._events.track(aggregate)

    def stage(self, mapper: AggregateMapper[A], aggregate: A, key: str) -> None:
        """Insert at commit instead of now: the row goes with the commit's other writes
        (flush_in_one.py), and a clash on id or a unique column surfaces at commit as
        AlreadyExists, which the unit-of-work contract allows. Only for a table without
        child rows, whose callers need no clash before commit."""
        if self.known(mapper, key) is not None:
            raise AlreadyExists(f"{mapper.table.name} {key} is in this unit already")
        self._entries[(mapper.table.name, key)] = _Entry(
            mapper,
            aggregate,
            {},
            None,
            aggregate.version + 1,
            inserted=True,
            staged=True,
        )
        self._events.track(aggregate)

    def has_staged(self) -> bool:
        return any(entry.staged for entry in self._entries.values())

    def staged(self) -> list[tuple[str, _Entry, dict[str, Any]]]:
        """Each staged aggregate's row as it stands now, at its first version."""
        staged = []
        for (_, key), entry in sorted(self._entries.items()):
            if entry.staged:
                row = entry.mapper.to_row(entry.aggregate)
                row["version"] = entry.stored_version
                staged.append((key, entry, row))
        return staged

    async def insert_staged(
        self, connection: AsyncConnection, staged: list[tuple[str, _Entry, dict[str, Any]]]
    ) -> None:
        """The staged rows one statement each: where the commit is not one statement."""
        for key, entry, row in staged:
            await _insert_row(connection, entry.mapper.table, key, row)

    def changed(self) -> Changes:
        """Every aggregate whose row differs from the one read, with its new row (staged
        inserts apart: `staged`). A commit takes them once and hands them to
        `writes_one_row` and `flush`."""
        changes = []
        for (_, key), entry in self._entries.items():
            if entry.staged:
                continue
            row = entry.changed_row()
            if row is not None:
                changes.append((key, entry, row))
        return changes

    def writes_one_row(self, changed: Changes) -> bool:
        """Whether flushing `changed` is exactly one UPDATE: one changed aggregate, read (not
        inserted) by this unit, whose table has no child rows to rewrite."""
        if len(changed) != 1 or self.has_staged():
            return False
        entry = changed[0][1]
        return not entry.inserted and entry.mapper.table.name not in self._children

    async def flush(
        self, connection: AsyncConnection, changed: Changes
    ) -> list[tuple[_Entry, int]]:
        """Write every changed aggregate if nobody changed its row since it was read."""
        written = []
        for key, entry, changes in self.updates(changed):
            table = entry.mapper.table
            result = await driver.run(connection, _version_checked_update(table), changes)
            if result.rowcount != 1:
                raise ConcurrencyConflict(f"{table.name} {key} was changed by someone else")
            if (children := self._children.get(table.name)) is not None:
                await children(connection, entry.aggregate, entry.pristine)
            written.append((entry, changes["version"]))
        return written

    def updates(self, changed: Changes) -> list[tuple[str, _Entry, dict[str, Any]]]:
        """Each changed aggregate's version-checked UPDATE: its id, its entry and the
        parameters (the columns it sets, `id_` and `stored_version_`), in a fixed (table,
        id) order, so that two units writing the same rows cannot deadlock."""
        updates = []
        for key, entry, row in sorted(
            changed, key=lambda item: (item[1].mapper.table.name, item[0])
        ):
            # Only the columns that changed: a cart checked out or an order confirmed leaves
            # most of its row as it was, and its JSON `body` sent again cost its encoding here
            # and its parsing in PostgreSQL for nothing. The statement's SET clause follows
            # the parameters' names (one compiled plan per set of changed columns).
            pristine = entry.pristine_row
            changes = {
                name: value
                for name, value in row.items()
                if name != "id" and (name not in pristine or pristine[name] != value)
            }
            changes["version"] = entry.stored_version + (0 if entry.inserted else 1)
            changes["id_"], changes["stored_version_"] = key, entry.stored_version
            updates.append((key, entry, changes))
        return updates

    def has_children(self, changed: Changes) -> bool:
        """Whether writing `changed` rewrites child rows too (a product's variants)."""
        return any(entry.mapper.table.name in self._children for _, entry, _ in changed)

    def entries(self) -> list[_Entry]:
        return list(self._entries.values())

    def keep_written(self, written: list[tuple[_Entry, int]]) -> None:
        """After a commit: keep the aggregates of the `kept` tables it wrote, at their new
        versions. A checkout holds its cart in its first transaction and checks it out in
        its second; the second takes the cart as the first left it, without a read. Only a
        starting point, as a read is: the write is version-checked, and a conflict rolls back,
        which forgets what was kept (`forget_kept`), so the retry reads."""
        if not self._kept_tables:
            return
        writes = {id(entry) for entry, _ in written}
        for (table, key), entry in self._entries.items():
            if table in self._kept_tables and (id(entry) in writes or entry.inserted):
                self._kept[(table, key)] = entry.aggregate

    def take_kept(self, mapper: AggregateMapper[A], key: str) -> A | None:
        return self._kept.pop((mapper.table.name, key), None)  # type: ignore[return-value]

    def forget_kept(self) -> None:
        self._kept.clear()

    def clear(self) -> None:
        self._entries.clear()
