"""The SQL unit of work: one transaction for its writes, the identity map, and the outbox
rows written in the same transaction as the state that produced the events.

On SQLite a writing transaction locks the whole database (BEGIN IMMEDIATE), so a unit reads
on a connection of its own until its first write, and takes the write lock only then. That
is safe because nothing here trusts a read to stay true: aggregates are version-checked at
commit and stock changes are conditional statements. On PostgreSQL one connection does both,
and for the same reason its reads before the first write run outside a transaction
(autocommit: no BEGIN and ROLLBACK round trips for a unit that only reads); the first write
begins the transaction on that same connection. With asyncpg the connection stays in
autocommit for SQLAlchemy and the unit sends BEGIN, COMMIT and ROLLBACK itself, so that its
statements sent to the driver directly (driver_statements.py) share the transaction. A
commit that is one version-checked UPDATE and nothing else (no outbox rows, no child rows)
needs no transaction either: a single statement is atomic on its own. Any other commit there
sends its UPDATEs, its outbox rows and the rows staged for it (a checkout's new order and its
reservation: `Session.stage`, `SqlStockLedger.staged`) as one statement (flush_in_one.py),
then COMMIT.

A connection lost mid-unit (the server dropped it) surfaces as `ConnectionLost` from whichever
statement found it, and the unit's rollback then has nothing to undo: the server rolled the
transaction back when the connection died. The bus runs the command again with a new unit of
work, which gets a new connection (errors.py argues why that is safe, COMMIT included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import driver_statements as driver
from adapters.db import flush_in_one, tables
from adapters.db.engine import autocommit, autocommit_allowed
from adapters.db.errors import lost_connection_ignored, translated
from adapters.db.outbox import TraceContext, outbox_rows, write_outbox
from adapters.db.processed import SqlProcessedEvents
from adapters.db.repositories import (
    SeenPrices,
    SqlCartRepository,
    SqlCustomerRepository,
    SqlOrderRepository,
    SqlPaymentRepository,
    SqlProductRepository,
    SqlRefreshSessionRepository,
    write_variants,
)
from adapters.db.session import Changes, Session
from adapters.db.stock import SqlStockLedger, sole_locations_of
from shopcore.application.tracking import EventLedger
from shopcore.shared.messages import Event


class SqlUnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        now: Callable[[], datetime],
        trace: Callable[[], TraceContext | None] | None = None,
    ) -> None:
        """`trace`: with tracing on, the current span's trace context, kept with the outbox
        rows this unit writes (apps/tracing.py); None (tracing off) keeps none."""
        self._engine = engine
        self._now = now
        self._trace = trace
        self._connection: AsyncConnection | None = None
        self._reader: AsyncConnection | None = None
        self._split_reads = engine.dialect.name == "sqlite"
        # On asyncpg the unit sends BEGIN, COMMIT and ROLLBACK itself on a connection that
        # stays in autocommit for SQLAlchemy, so that statements sent to the driver itself
        # (driver_statements.py) and through SQLAlchemy share its transaction.
        # Not behind a transaction pooler: there SQLAlchemy's statements must stay inside
        # SQLAlchemy's transactions (engine.py), and so run through SQLAlchemy.
        self._own_transactions = engine.dialect.driver == "asyncpg" and autocommit_allowed(engine)
        # Where the commit is one statement (flush_in_one.py), a new order's row joins it.
        self.stages_inserts = self._own_transactions and engine.dialect.name == "postgresql"
        self._begun = False
        self._depth = 0
        self._events = EventLedger()
        # A checkout's cart, held in its first transaction, is taken as written in its second.
        self._session = Session(
            self._events, {"products": write_variants}, kept=frozenset({tables.carts.name})
        )
        self.postgres = engine.dialect.name == "postgresql"
        # Prices a cart's read brought along, for the checkout's pricing that follows it.
        self._seen_prices = SeenPrices()
        self.products = SqlProductRepository(self, self._session, self._seen_prices)
        self.customers = SqlCustomerRepository(self, self._session)
        self.sessions = SqlRefreshSessionRepository(self, self._session)
        self.carts = SqlCartRepository(self, self._session, self._seen_prices)
        self.orders = SqlOrderRepository(self, self._session)
        self.payments = SqlPaymentRepository(self, self._session)
        self.stock = SqlStockLedger(self, sole_locations_of(engine.sync_engine))
        self.processed = SqlProcessedEvents(self)
        self.committed = False

    async def connection(self, *, write: bool = True) -> AsyncConnection:
        """The connection for the next statement, opened on first use; its transaction begins
        with its first statement (BEGIN IMMEDIATE on SQLite for the writer). Reads before the
        first write go to the reader: a connection of its own on SQLite, the same connection
        in autocommit on PostgreSQL."""
        if self._connection is not None:
            if write and self._own_transactions and not self._begun:
                await self._begin(self._connection)  # written again after a commit
            return self._connection
        # Opening one may find the server gone, and a pool with no connection free in time is
        # Busy: translated like any statement.
        async with translated():
            return await self._open(write)

    async def _open(self, write: bool) -> AsyncConnection:
        if not write:
            if self._reader is None:
                if self._split_reads:
                    # Kept before its mode is set, so that a failure there closes it at exit.
                    reader = self._reader = await self._engine.connect()
                    await reader.execution_options(shopcore_read_only=True)
                elif self._own_transactions:
                    self._reader = await autocommit(self._engine).connect()
                else:
                    # Behind a transaction pooler no statement may run outside a
                    # transaction: the reads share one instead.
                    self._reader = await self._engine.connect()
            return self._reader
        if self._own_transactions:
            if self._reader is None:
                self._reader = await autocommit(self._engine).connect()
            self._connection, self._reader = self._reader, None
            await self._begin(self._connection)
            return self._connection
        if self._reader is not None and not self._split_reads:
            self._connection = await self._transactional(self._reader)
            self._reader = None
            return self._connection
        await self._close_reader()
        self._connection = await self._engine.connect()
        return self._connection

    async def _begin(self, connection: AsyncConnection) -> None:
        await driver.begin(connection)
        self._begun = True

    async def _transactional(self, reader: AsyncConnection) -> AsyncConnection:
        """Turn the autocommit reader into the writer: its next statement begins a transaction."""
        if reader.in_transaction():
            # Ends SQLAlchemy's bookkeeping (autocommit sent no BEGIN), or the reads'
            # transaction behind a pooler: the writes begin one of their own, as they would.
            await reader.rollback()
        if autocommit_allowed(self._engine):
            level = self._engine.dialect.default_isolation_level or "READ COMMITTED"
            await reader.execution_options(isolation_level=level)
        return reader

    async def _close_reader(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()

    async def __aenter__(self) -> Self:
        self._depth += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if exc is not None:
            self._session.forget_kept()
        await self.rollback()
        if self._depth == 0:
            await self._close_reader()
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()

    async def commit(self) -> None:
        changed = self._session.changed()
        if (
            self._connection is None
            and not changed
            and not self._session.has_staged()
            and not self._events.pending()
            and not self.processed.staged
        ):
            # Nothing was written: no need to take a write lock just to commit nothing.
            await self._close_reader()
            self._finish_commit([])
            return
        try:
            async with translated():
                written = await self._write(changed)
        except Exception:
            self._session.forget_kept()  # a conflict among them, maybe: the retry reads
            await self.rollback()
            raise
        self._finish_commit(written)

    async def _write(self, changed: Changes) -> list[tuple[Any, int]]:
        """Send everything this unit changed, and commit it."""
        if self._single_statement(changed):
            # One version-checked UPDATE on the autocommit reader: atomic without BEGIN/COMMIT.
            assert self._reader is not None
            written = await self._session.flush(self._reader, changed)
            await self._reader.commit()  # bookkeeping only: autocommit sends nothing
            return written
        connection = await self.connection()
        events = self._events.pending()
        trace = self._trace() if self._trace is not None and events else None
        staged = self._session.staged()
        inserts = [(entry.mapper.table, key, [row]) for key, entry, row in staged]
        inserts += self.stock.staged()
        if not self._session.has_children(changed) and flush_in_one.applies(
            connection, len(changed) + sum(len(rows) for _, _, rows in inserts), len(events)
        ):
            updates = self._session.updates(changed)
            await flush_in_one.write(
                connection,
                [(entry.mapper.table, key, changes) for key, entry, changes in updates],
                outbox_rows(events, self._now(), trace),
                inserts=inserts,
            )
            written = [(entry, changes["version"]) for _, entry, changes in updates]
        else:
            await self._session.insert_staged(connection, staged)
            await self.stock.insert_staged(connection)
            written = await self._session.flush(connection, changed)
            await write_outbox(connection, events, self._now(), trace)
        await self.processed.flush(connection, self._now())
        if self._own_transactions:
            self._begun = False  # whatever COMMIT answers, the transaction is over
            await driver.commit(connection)
        else:
            await connection.commit()
        return written

    def _single_statement(self, changed: Changes) -> bool:
        """Whether this commit is exactly one UPDATE that can run in autocommit (PostgreSQL,
        nothing written yet, no events, no processed-event record, no child rows)."""
        return (
            self._connection is None
            and self._reader is not None
            and not self._split_reads
            and not self._events.pending()
            and not self.processed.staged
            and self._session.writes_one_row(changed)
        )

    def _finish_commit(self, written: list[tuple[Any, int]]) -> None:
        for entry, version in written:
            entry.aggregate.version = version
        for entry in self._session.entries():
            if entry.inserted:
                entry.aggregate.version = entry.stored_version
        self._session.keep_written(written)
        self._session.clear()
        self._seen_prices.forget()
        self.stock.forget()
        self._events.committed()
        self.processed.committed()
        self.committed = True

    async def rollback(self) -> None:
        self._session.clear()
        self._seen_prices.forget()
        self.stock.forget()
        self._events.rolled_back()
        if self._own_transactions:
            if self._begun and self._connection is not None:
                self._begun = False
                async with lost_connection_ignored():
                    await driver.rollback(self._connection)
            return
        for connection in (self._connection, self._reader):
            if connection is not None and connection.in_transaction():
                async with lost_connection_ignored():
                    await connection.rollback()

    def emit(self, event: Event) -> None:
        self._events.emit(event)

    def collect_new_events(self) -> Iterator[Event]:
        yield from self._events.take_committed()
