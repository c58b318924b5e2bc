"""Read-only statements for the hot read paths: one SELECT on a pooled connection, and its rows.

`SqlReads` runs a SQLAlchemy statement with SQLAlchemy, as every adapter does. `DriverReads`, the
PostgreSQL one, compiles the statement once and sends it to the asyncpg connection under the
pooled SQLAlchemy connection: asyncpg prepares it once per connection and hands back its rows,
and SQLAlchemy's execution (its execution context, cursor adaptation, result and row objects, a
greenlet switch each way) is skipped. That was 200-250 us of CPU per catalog page of 21 products
with 42 variant rows (PostgreSQL, in process: 520-570 us through SQLAlchemy, 310-320 us to the
driver), a third of what an uncached listing costs the API.

The pool, its budget and its timeout (`Busy`) are SQLAlchemy's as for any statement. The one
thing SQLAlchemy no longer sees is the statement's failure, so a connection found lost here is
handed back to SQLAlchemy to find out for itself (`_report_lost`): it then throws it away, with
the pool's older connections when the server hung up (disconnects.py), exactly as when one of
its own statements meets a dead connection, and the read fails as `ConnectionLost` (a 503).

Only reads that need nothing SQLAlchemy's types do come here: the rows are asyncpg's, with the
JSON documents decoded by the engine's own codec (engine.py) and timestamps aware in UTC.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db.disconnects import connection_lost
from adapters.db.errors import translated
from shopcore.shared.errors import ConnectionLost


class Reads(Protocol):
    async def rows(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The rows of `statement` (its columns in order), run with `parameters`."""
        ...


def reads_for(engine: AsyncEngine) -> Reads:
    return DriverReads(engine) if engine.dialect.driver == "asyncpg" else SqlReads(engine)


class SqlReads:
    """Any database, through SQLAlchemy. On SQLite the statement goes without BEGIN (engine.py:
    one statement is a transaction of its own), so it never takes the write lock and costs no
    extra trips to aiosqlite's thread."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name == "sqlite":
            self._engine = engine.execution_options(shopcore_single_read=True)
        else:
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def rows(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        async with translated(), self._engine.connect() as connection:
            rows: Sequence[Sequence[Any]] = (
                await connection.execute(statement, dict(parameters))
            ).all()
        return rows


class DriverReads:
    """PostgreSQL through asyncpg itself (see the module doc). No transaction is begun: the
    statement goes alone, and one statement is consistent on its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rows(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        sql, names, fixed = _compiled(statement, self._engine.dialect)
        arguments = [parameters[name] if name in parameters else fixed[name] for name in names]
        async with translated(), self._engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            try:
                rows: Sequence[Sequence[Any]] = await driver.fetch(sql, *arguments)
            except Exception as error:
                if not (isinstance(error, OSError) or connection_lost(error)):
                    raise
                await _report_lost(connection)
                raise ConnectionLost(f"the database connection was lost: {error}") from error
        return rows


@functools.lru_cache(maxsize=512)
def _compiled(
    statement: Select[Any], dialect: Dialect
) -> tuple[str, tuple[str, ...], Mapping[str, Any]]:
    """The statement's text for `dialect`, the names of its parameters in their order, and the
    values the statement itself gives some of them (a literal SQLAlchemy made a parameter)."""
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ()), compiled.params


async def _report_lost(connection: AsyncConnection) -> None:
    """Let SQLAlchemy meet the lost connection itself, through a statement of its own: its
    disconnect handling (and ours, disconnects.py) then throws the connection away, and the
    pool's older ones too when the server hung up."""
    with contextlib.suppress(DBAPIError):
        await connection.exec_driver_sql("SELECT 1")
    if not connection.invalidated:
        # It answered after all: the failure wrecked only this connection's state.
        await connection.invalidate()
