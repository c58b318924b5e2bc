"""Read-only statements for the hot read paths: one SELECT on a pooled connection, and its rows.

`SqlReads` runs a SQLAlchemy statement with SQLAlchemy, as every adapter does. `DriverReads`
compiles the statement once per dialect and sends it to the driver's own connection (asyncpg,
or aiosqlite) on a connection of SQLAlchemy's pool: the driver prepares it once per connection
and hands back its rows, and SQLAlchemy's execution (its execution context, cursor adaptation,
result and row objects, a greenlet switch each way, and on SQLite two more trips to aiosqlite's
thread) is skipped, and so is the `AsyncConnection` around it (the connection is checked out
and in by the pool itself, in the greenlet the pool needs anyway). For a catalog page of 21
products with 42 variant rows, in process: 520-570 us of CPU through SQLAlchemy and 310-320 us
to asyncpg; 840-940 us and 370-410 us on SQLite.

The rows come out as SQLAlchemy would have made them: each column that SQLAlchemy would process
for this dialect (timestamps made aware in UTC; on SQLite also parsed, and JSON documents
decoded) goes through the very processor SQLAlchemy would have used.

The pool, its budget and its timeout (`Busy`) are SQLAlchemy's as for any statement. When the
driver fails, the statement runs again through SQLAlchemy on the same connection, and whatever
happens then is reported as for any statement: a lost connection is thrown away, with the pool's
older ones when the server hung up (disconnects.py), and the read fails as `ConnectionLost`; a
locked SQLite is a `TransientConflict`; any other error is SQLAlchemy's. A read changes nothing,
so running it twice is harmless.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from adapters.db.engine import autocommit_allowed
from adapters.db.errors import translated

Rows = Sequence[Sequence[Any]]
# Sends (sql, positional arguments) on the driver's connection and returns its rows.
_Fetch = Callable[[Any, str, list[Any]], Awaitable[Rows]]


class Reads(Protocol):
    async def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        """The rows of `statement` (its columns in order), run with `parameters`."""
        ...


def reads_for(engine: AsyncEngine) -> Reads:
    """The fastest way this engine's driver offers."""
    if engine.dialect.driver in _FETCH:
        return DriverReads(engine)
    return SqlReads(engine)


def _single_read(engine: AsyncEngine) -> AsyncEngine:
    """The engine for connections that send one SELECT: in autocommit on PostgreSQL (no BEGIN,
    no ROLLBACK), without BEGIN on SQLite (engine.py; never the write lock)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(shopcore_single_read=True)
    if not autocommit_allowed(engine):
        return engine  # behind a transaction pooler: a short transaction of its own
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class SqlReads:
    """Any database, through SQLAlchemy."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = _single_read(engine)

    async def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        async with translated(), self._engine.connect() as connection:
            rows: Rows = (await connection.execute(statement, dict(parameters))).all()
        return rows


class DriverReads:
    """asyncpg or aiosqlite itself (see the module doc). No transaction is begun: the statement
    goes alone, and one statement is consistent on its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        # On PostgreSQL the plain engine: nothing SQLAlchemy would send precedes the statement
        # (its BEGIN waits for a statement of its own), and a checkout sets no isolation level.
        self._engine = (
            _single_read(engine) if engine.dialect.name == "sqlite" else engine
        ).sync_engine
        self._dialect = engine.dialect
        self._fetch = _FETCH[engine.dialect.driver]

    async def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        plan = _plan(statement, self._dialect)
        arguments = [
            parameters[name] if name in parameters else plan.fixed[name] for name in plan.names
        ]
        async with translated():
            found: Rows = await greenlet_spawn(self._read, plan, arguments, statement, parameters)
        return found

    def _read(
        self,
        plan: _Plan,
        arguments: list[Any],
        statement: Select[Any],
        parameters: Mapping[str, Any],
    ) -> Rows:
        """Checks a connection out, sends the statement, checks it back in: all in the one
        greenlet that the pool needs anyway (it may wait for a connection or open one). An
        `AsyncConnection` around the same steps took a greenlet to open, one to close and its
        own objects: 150-250 us of CPU a read against 70-90 us here (bench.read_cost)."""
        pooled = self._engine.raw_connection()
        try:
            found = await_(self._fetch(pooled.driver_connection, plan.sql, arguments))
        except Exception:
            # SQLAlchemy meets the failure itself, on the same connection, and reports it in
            # its terms (and throws the connection away if it is lost).
            with Connection(self._engine, pooled) as connection:
                again: Rows = connection.execute(statement, dict(parameters)).all()
                return again
        except BaseException:
            pooled.close()
            raise
        pooled.close()
        return plan.processed(found)


async def _asyncpg_fetch(driver: Any, sql: str, arguments: list[Any]) -> Rows:
    rows: Rows = await driver.fetch(sql, *arguments)
    return rows


async def _aiosqlite_fetch(driver: Any, sql: str, arguments: list[Any]) -> Rows:
    rows: Rows = await driver.execute_fetchall(sql, arguments)  # one trip to its thread
    return rows


_FETCH: dict[str, _Fetch] = {"asyncpg": _asyncpg_fetch, "aiosqlite": _aiosqlite_fetch}


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the parameters, in their order in `sql`
    fixed: Mapping[str, Any]  # values the statement gives itself (a literal made a parameter)
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, SQLAlchemy's processor)

    def processed(self, rows: Rows) -> Rows:
        if not self.processors:
            return rows
        result = []
        for row in rows:
            values = list(row)
            for index, process in self.processors:
                values[index] = process(values[index])
            result.append(values)
        return result


@functools.lru_cache(maxsize=512)
def _plan(statement: Select[Any], dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    processors = []
    for index, column in enumerate(statement.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            processors.append((index, process))
    return _Plan(
        sql=compiled.string,
        names=tuple(compiled.positiontup or ()),
        fixed=compiled.params,
        processors=tuple(processors),
    )
