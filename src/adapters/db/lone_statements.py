"""A write that is one statement on its own (autocommit), sent to asyncpg on a pooled
connection checked out and in within one greenlet.

An idempotency key's claim and its answer, and the simulated gateway's authorization, are each
one statement with no transaction around it: three of a checkout's five pool checkouts. Through
an `AsyncConnection` each cost a greenlet to open it, one to close it, the isolation level set
and reset on the way, and SQLAlchemy's execution; here the pool checks the connection out and
in inside the one greenlet it needs anyway, as `driver_reads.DriverReads` does for reads (150-250
us of CPU a statement against 70-90 us there). The statement is compiled once and its parameters
go through SQLAlchemy's bind processors (driver_statements.py).

A plain pooled connection is in autocommit as far as the server knows (SQLAlchemy's asyncpg
adapter begins a transaction only with a statement of its own), so the statement commits by
itself, and the pool's reset on return sends nothing.

Unlike a read, a write is never sent again after a failure: its outcome is unknown. An error
the server reports is translated by its SQLSTATE as for any statement; a failed connection is
handed to SQLAlchemy (a probe on it, so the pool throws it away, and the older ones when the
server hung up) and surfaces as `ConnectionLost`; a pool with nothing free in time is `Busy`.

Only on asyncpg with autocommit allowed (not behind a transaction pooler): `for_engine` gives
None elsewhere, and the callers keep their SQLAlchemy path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Executable
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from adapters.db import driver_statements as driver
from adapters.db.engine import autocommit_allowed
from adapters.db.errors import translated
from shopcore.shared.errors import ConnectionLost


class LoneStatements:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine: Engine = engine.sync_engine
        self._dialect = engine.dialect

    async def run(self, statement: Executable, parameters: driver.Parameters) -> driver.Outcome:
        """Run `statement` (a module-level constant) alone with `parameters`."""
        plan = driver.plan(statement, self._dialect, parameters)
        sql, arguments = plan.bound(parameters)
        async with translated():
            try:
                outcome: driver.Outcome = await greenlet_spawn(self._send, plan, sql, arguments)
            except asyncpg.PostgresError as error:
                mapped = driver.server_error(error)
                if mapped is None:
                    raise
                raise mapped from error
        return outcome

    def _send(self, plan: Any, sql: str, arguments: Sequence[Any]) -> driver.Outcome:
        pooled = self._engine.raw_connection()
        try:
            connection: Any = pooled.driver_connection
            if plan.returns_rows:
                found = await_(connection.fetch(sql, *arguments))
                outcome = driver.Outcome(plan.rows(found), len(found))
            else:
                outcome = driver.Outcome(
                    [], driver.affected(await_(connection.execute(sql, *arguments)))
                )
        except Exception as error:
            if not driver.connection_failed(error):
                pooled.close()
                raise
            with Connection(self._engine, pooled) as probe:
                # A dead connection: SQLAlchemy meets the failure itself, throws the
                # connection away (and the pool's older ones when the server hung up) and
                # raises it in its terms, which `translated` makes ConnectionLost.
                probe.exec_driver_sql("SELECT 1")
                # Alive after all (a goodbye read before the server hung up): not to be
                # trusted with another statement, but the server is there for the others.
                probe.invalidate()
            raise ConnectionLost(f"the database connection was lost: {error}") from error
        except BaseException:
            pooled.close()
            raise
        pooled.close()
        return outcome


def for_engine(engine: AsyncEngine) -> LoneStatements | None:
    if engine.dialect.driver != "asyncpg" or not autocommit_allowed(engine):
        return None
    return LoneStatements(engine)
