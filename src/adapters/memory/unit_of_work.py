"""The in-memory unit of work: an identity map of private copies, written back on commit.

Aggregates are compared by version at commit, like `UPDATE ... WHERE version = :seen` in SQL,
so of two concurrent changes to one order, one wins and the other gets ConcurrencyConflict.
Commit runs without awaiting, so on one event loop it is atomic.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

from adapters.memory.processed import MemoryProcessedEvents
from adapters.memory.repositories import (
    MemoryCartRepository,
    MemoryCustomerRepository,
    MemoryOrderRepository,
    MemoryPaymentRepository,
    MemoryProductRepository,
    MemoryRefreshSessionRepository,
)
from adapters.memory.stock import MemoryStockLedger
from adapters.memory.store import MemoryStore
from adapters.memory.table import Table
from shopcore.application.tracking import EventLedger
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists
from shopcore.shared.messages import Event

A = TypeVar("A", bound=Aggregate)


class Session:
    """The identity map of one unit of work: each row loaded at most once, as a private copy."""

    def __init__(self, events: EventLedger) -> None:
        self._events = events
        self._entries: dict[tuple[int, str], tuple[Table[Any], Aggregate, bool]] = {}

    def load(self, table: Table[A], key: str) -> A | None:
        entry = self._entries.get((id(table), key))
        if entry is not None:
            return entry[1]  # type: ignore[return-value]
        row = table.get(key)
        if row is None:
            return None
        self._entries[(id(table), key)] = (table, row, False)
        return self._events.track(row)

    def stage(self, table: Table[A], key: str, aggregate: A) -> None:
        if (id(table), key) in self._entries:
            raise AlreadyExists(f"{table.name} {key} already exists")
        self._entries[(id(table), key)] = (table, aggregate, True)
        self._events.track(aggregate)

    def flush(self) -> None:
        """Check every row first, then write them all: all of it lands, or none of it."""
        changed = [
            (table, key, aggregate)
            for (_, key), (table, aggregate, new) in self._entries.items()
            if table.check(key, aggregate, new=new)
        ]
        # `check` compares with the stored rows only; rows of this unit may clash each other.
        claimed: dict[tuple[int, str, Hashable], str] = {}
        for table, key, aggregate in changed:
            for index, value in table.unique_values(aggregate):
                if claimed.setdefault((id(table), index, value), key) != key:
                    raise AlreadyExists(f"{index} {value!r} is taken")
        for table, key, aggregate in changed:
            table.write(key, aggregate)
        self._entries.clear()

    def clear(self) -> None:
        self._entries.clear()


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._events = EventLedger()
        self._session = Session(self._events)
        self.products = MemoryProductRepository(store.products, self._session)
        self.customers = MemoryCustomerRepository(store.customers, self._session)
        self.sessions = MemoryRefreshSessionRepository(store.sessions, self._session)
        self.carts = MemoryCartRepository(store.carts, self._session)
        self.orders = MemoryOrderRepository(store.orders, self._session)
        self.payments = MemoryPaymentRepository(store.payments, self._session)
        self.stock = MemoryStockLedger(store.stock)
        self.processed = MemoryProcessedEvents(store.processed)
        self.committed = False  # for tests: did any commit happen

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        try:
            self.processed.check()
            self._session.flush()
        except Exception:
            await self.rollback()
            raise
        self.stock.finish(commit=True)
        self.processed.committed()
        self._store.outbox.extend(self._events.pending())
        self._events.committed()
        self.committed = True

    async def rollback(self) -> None:
        self._session.clear()
        self.stock.finish(commit=False)
        self._events.rolled_back()

    def emit(self, event: Event) -> None:
        self._events.emit(event)

    def collect_new_events(self) -> Iterator[Event]:
        yield from self._events.take_committed()
