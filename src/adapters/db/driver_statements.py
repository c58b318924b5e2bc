"""Statements built once, sent to asyncpg itself on a unit of work's connection.

The checkout's writes went through SQLAlchemy's execution for every statement: its compiled
cache lookup, execution context, cursor adaptation, result and row objects and a greenlet
switch each way, about a third of the API's CPU per checkout. `run` compiles a statement once
per dialect and set of parameter names, then hands asyncpg the SQL and the arguments, each
through the very bind processor SQLAlchemy would have used (JSON documents encoded, aware
datetimes checked), and hands the rows back through SQLAlchemy's result processors. asyncpg
prepares the statement once per connection and reuses it (its statement cache).

Only statements that are module-level constants may come here (the plan is cached by the
statement object): a statement built per call would be compiled per call, which costs more
than SQLAlchemy's own cache. A statement with an expanding IN is expanded by SQLAlchemy
once per number of values (expanded_statements.py). Every
driver other than asyncpg and any connection not in autocommit (`on_driver`) go through
SQLAlchemy as before, with the same `Outcome`; so does an executemany with an expanding IN.

Transactions: on PostgreSQL the unit of work's connection stays in autocommit as far as
SQLAlchemy knows, and the unit sends BEGIN, COMMIT and ROLLBACK itself (`begin`, `commit`,
`rollback`), so statements sent by SQLAlchemy and by the driver run in one transaction.
engine.py rolls back, when the pool takes a connection back, a transaction left open.

Errors: a database error the server reports (a deadlock, a serialization failure, a CHECK
constraint) is translated by its SQLSTATE exactly as `errors.translate` does for SQLAlchemy's.
A failure of the connection itself (the server hung up, a wrecked protocol) is handed to
SQLAlchemy: a probe on the same connection through SQLAlchemy meets it, so SQLAlchemy
invalidates the connection (and the pool, when the server went away: disconnects.py) and the
failure surfaces as `ConnectionLost`, as for any statement.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import ReturnsRows

from adapters.db.disconnects import protocol_wrecked, server_hung_up, sqlstate
from adapters.db.errors import translate_state, translated
from adapters.db.expanded_statements import Expansions

Parameters = Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a statement gave back: its rows (mappings by column name) and rows affected."""

    rows: Sequence[Mapping[str, Any]]
    rowcount: int

    def scalars(self) -> list[Any]:
        return [next(iter(row.values())) for row in self.rows]

    def tuples(self) -> list[tuple[Any, ...]]:
        """The rows as tuples, columns in the statement's order."""
        return [tuple(row.values()) for row in self.rows]


async def run(
    connection: AsyncConnection, statement: Executable, parameters: Parameters | None = None
) -> Outcome:
    """Run `statement` (a module-level constant) with `parameters` on `connection`."""
    parameters = parameters or {}
    plan = _plan_for(connection, statement, parameters)
    if plan is None:
        async with translated():
            result = await connection.execute(statement, dict(parameters))
            rows: list[Any] = list(result.mappings().all()) if result.returns_rows else []
            return Outcome(rows, result.rowcount if not rows else len(rows))
    driver = await _driver(connection)
    sql, arguments = plan.bound(parameters)
    async with _driver_errors(connection):
        if plan.returns_rows:
            found = await driver.fetch(sql, *arguments)
            return Outcome(plan.rows(found), len(found))
        status = await driver.execute(sql, *arguments)
    return Outcome([], affected(status))


async def run_many(
    connection: AsyncConnection, statement: Executable, rows: Sequence[Parameters]
) -> None:
    """Run `statement` once per row, in one round trip (asyncpg pipelines executemany)."""
    if not rows:
        return
    plan = _plan_for(connection, statement, rows[0])
    if plan is None:
        async with translated():
            await connection.execute(statement, [dict(row) for row in rows])
        return
    if plan.expanding is not None:
        async with translated():
            await connection.execute(statement, [dict(row) for row in rows])
        return
    driver = await _driver(connection)
    async with _driver_errors(connection):
        await driver.executemany(plan.sql, [plan.bound(row)[1] for row in rows])


async def fetch(connection: AsyncConnection, sql: str, arguments: Sequence[Any]) -> list[Any]:
    """The records of `sql`, SQL text written for PostgreSQL (a constant: asyncpg prepares it
    once per connection), sent to asyncpg itself; for a connection `on_driver` only. Errors
    are translated as for `run`."""
    driver = await _driver(connection)
    async with _driver_errors(connection):
        records: list[Any] = await driver.fetch(sql, *arguments)
    return records


def on_driver(connection: AsyncConnection) -> bool:
    """Whether this connection's statements can go to asyncpg itself: only in autocommit,
    where SQLAlchemy sends no BEGIN of its own (a statement goes alone, or in the
    transaction the unit of work began). On a connection whose transaction SQLAlchemy
    manages, SQLAlchemy sends BEGIN with its first statement: one sent past it would not be
    in that transaction."""
    if connection.dialect.driver != "asyncpg" or connection.sync_connection is None:
        return False
    options = connection.sync_connection.get_execution_options()
    return options.get("isolation_level") == "AUTOCOMMIT"


async def begin(connection: AsyncConnection) -> None:
    async with _driver_errors(connection):
        await (await _driver(connection)).execute("BEGIN")


async def commit(connection: AsyncConnection) -> None:
    async with _driver_errors(connection):
        await (await _driver(connection)).execute("COMMIT")


async def rollback(connection: AsyncConnection) -> None:
    """Roll back the transaction `begin` opened, if the server still has one."""
    driver = await _driver(connection)
    if driver.is_in_transaction():
        async with _driver_errors(connection):
            await driver.execute("ROLLBACK")


async def _driver(connection: AsyncConnection) -> Any:
    """asyncpg's connection under `connection`. A live connection holds it already: reading it
    costs no trip to SQLAlchemy's greenlet (which get_raw_connection takes, a fifth of a
    statement's remaining Python); one that was invalidated is reconnected the usual way."""
    sync = connection.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        held = sync.connection.driver_connection
        if held is not None:
            return held
    async with translated():
        return (await connection.get_raw_connection()).driver_connection


def affected(status: str) -> int:
    """Rows affected, from asyncpg's command tag ("UPDATE 1", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


@asynccontextmanager
async def _driver_errors(connection: AsyncConnection) -> AsyncIterator[None]:
    try:
        yield
    except Exception as error:
        if connection_failed(error):
            await _let_sqlalchemy_meet_it(connection)
            raise
        mapped = server_error(error)
        if mapped is None:
            raise
        raise mapped from error


def server_error(error: Exception) -> Exception | None:
    """The core's error for an error asyncpg reports from the server (by its SQLSTATE, as
    `errors.translate` does for SQLAlchemy's); None when there is none."""
    if not isinstance(error, asyncpg.PostgresError):
        return None
    return translate_state(sqlstate(error), str(error), integrity=_integrity(error))


def connection_failed(error: Exception) -> bool:
    """Whether asyncpg's `error` is the connection's failure, not the statement's."""
    if isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError | OSError):
        return True
    if not isinstance(error, asyncpg.PostgresError):
        return False
    state = sqlstate(error) or ""
    return state.startswith("08") or server_hung_up(error) or protocol_wrecked(error)


def _integrity(error: BaseException) -> bool:
    return (sqlstate(error) or "").startswith("23")


async def _let_sqlalchemy_meet_it(connection: AsyncConnection) -> None:
    """A probe through SQLAlchemy on the failed connection: SQLAlchemy invalidates it (and
    the pool's older ones when the server hung up) and `translated` raises ConnectionLost.
    A probe that passes (the failure was not the connection's) leaves the error as it was."""
    async with translated():
        await connection.exec_driver_sql("SELECT 1")


@dataclass(frozen=True)
class _Plan:
    sql: str
    returns_rows: bool
    names: tuple[str, ...]  # the parameters, in their order in `sql`
    fixed: Mapping[str, Any]  # values the statement gives itself (literals made parameters)
    binds: tuple[Callable[[Any], Any] | None, ...]  # SQLAlchemy's bind processor per parameter
    columns: tuple[str, ...]  # the result's column names
    results: tuple[Callable[[Any], Any] | None, ...]  # SQLAlchemy's result processor per column
    # A statement with an expanding IN: its SQL depends on the number of values
    # (expanded_statements.py).
    expanding: Expansions | None = None

    def bound(self, parameters: Parameters) -> tuple[str, list[Any]]:
        """The SQL to send with `parameters`, and the arguments in their order."""
        if self.expanding is not None:
            return self.expanding.bound(parameters)
        values = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = parameters[name] if name in parameters else self.fixed[name]
            values.append(value if process is None or value is None else process(value))
        return self.sql, values

    def rows(self, found: Sequence[Any]) -> list[Mapping[str, Any]]:
        if not any(self.results):
            return list(found)  # asyncpg's records are mappings by column name already
        return [
            {
                name: value if process is None else process(value)
                for name, process, value in zip(
                    self.columns, self.results, record.values(), strict=True
                )
            }
            for record in found
        ]


def _plan_for(
    connection: AsyncConnection, statement: Executable, parameters: Parameters
) -> _Plan | None:
    if not on_driver(connection):
        return None
    return _plan(statement, connection.dialect, frozenset(parameters))


def plan(statement: Executable, dialect: Dialect, parameters: Parameters) -> _Plan:
    """How `statement` (a module-level constant) goes to asyncpg with these parameters."""
    return _plan(statement, dialect, frozenset(parameters))


@functools.lru_cache(maxsize=512)
def _plan(statement: Executable, dialect: Dialect, names: frozenset[str]) -> _Plan:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=sorted(names))
    assert isinstance(compiled, SQLCompiler)
    late = compiled.post_compile_params | compiled.literal_execute_params  # rendered per call
    positions = () if late else tuple(compiled.positiontup or ())
    binds = []
    for name in positions:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        binds.append(process)
    # The columns of a SELECT, or of an INSERT or UPDATE ... RETURNING (none without one).
    exported: list[Any] = (
        list(statement.exported_columns) if isinstance(statement, ReturnsRows) else []
    )
    columns = [column.key for column in exported]
    results = [
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in exported
    ]
    return _Plan(
        sql=compiled.string,
        returns_rows=bool(exported),
        names=positions,
        fixed=compiled.params,
        binds=tuple(binds),
        columns=tuple(columns),
        results=tuple(results),
        expanding=Expansions.of(compiled, late) if late else None,
    )
