"""The in-memory unit of work: an identity map of private copies, written back on commit.

Aggregates are compared by version at commit, like `UPDATE ... WHERE version = :seen` in SQL,
so of two concurrent changes to one order, one wins and the other gets ConcurrencyConflict.
Commit runs without awaiting, so on one event loop it is atomic.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Self

from adapters.memory.processed import MemoryProcessedEvents
from adapters.memory.repositories import (
    MemoryCartRepository,
    MemoryCustomerRepository,
    MemoryOrderRepository,
    MemoryPaymentRepository,
    MemoryProductRepository,
    MemoryRefreshSessionRepository,
)
from adapters.memory.session import Session
from adapters.memory.stock import MemoryStockLedger
from adapters.memory.store import MemoryStore
from shopcore.application.tracking import EventLedger
from shopcore.shared.messages import Event


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
