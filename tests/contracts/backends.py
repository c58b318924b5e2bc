"""The storage backends the contract suites run against.

A backend hands out units of work over one empty store, the read sides (catalog, stock levels)
over the same store, and the simulated payment gateway whose books it keeps. Every suite in
this package talks to it through the ports only, so a new adapter family joins by adding a
factory (and the pytest marks that gate it) to the two tables at the bottom. SQL backends share
one engine per test session and database (conftest.py), emptied before each test: a new engine
per test paid for its connections every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.catalog_views import SqlCatalogViews
from adapters.db.idempotency import SqlIdempotencyStore
from adapters.db.product_pages import SqlProductPages
from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.db.stock import sole_locations_of
from adapters.db.stock_views import SqlStockViews
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.product_pages import ComposedProductPages
from adapters.memory.catalog_views import MemoryCatalogViews
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.stock_views import MemoryStockViews
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.payments.simulated import Charge, SimulatedGateway
from shopcore.application.idempotency import IdempotencyStore
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.catalog.ports import CatalogViews
from shopcore.inventory.ports import StockViews
from shopcore.payments.ports import PaymentGateway
from shopcore.storefront import ProductPages
from tests.support.databases import delete_every_row


class Backend(Protocol):
    name: str

    def uow(self) -> ShopUnitOfWork: ...

    def catalog_views(self) -> CatalogViews:
        """The catalog's read side over what this backend's units of work commit."""
        ...

    def stock_views(self) -> StockViews:
        """The stock levels' read side over the same store."""
        ...

    def product_pages(self) -> ProductPages:
        """Product pages over the same store: the store's own way of reading them."""
        ...

    def idempotency(self) -> IdempotencyStore: ...

    def gateway(self) -> PaymentGateway:
        """A simulated gateway over this backend's bank. On SQL each call builds a new gateway
        object, as another process or a restart would: only the database holds the books."""
        ...

    async def charges(self) -> dict[str, Charge]:
        """The bank's books: every charge by reference."""
        ...

    async def empty(self) -> None: ...


@dataclass
class MemoryBackend:
    name: str = "memory"
    store: MemoryStore = field(default_factory=MemoryStore)
    keys: MemoryIdempotencyStore = field(default_factory=MemoryIdempotencyStore)
    bank: SimulatedGateway = field(default_factory=SimulatedGateway)

    def uow(self) -> ShopUnitOfWork:
        return MemoryUnitOfWork(self.store)

    def catalog_views(self) -> CatalogViews:
        return MemoryCatalogViews(self.store)

    def stock_views(self) -> StockViews:
        return MemoryStockViews(self.store)

    def product_pages(self) -> ProductPages:
        return ComposedProductPages(self.catalog_views(), self.stock_views())

    def idempotency(self) -> IdempotencyStore:
        return self.keys

    def gateway(self) -> PaymentGateway:
        return self.bank  # one process, one bank: its books end with it

    async def charges(self) -> dict[str, Charge]:
        return dict(self.bank.charges)

    async def empty(self) -> None:
        return None  # a new store per test


@dataclass
class SqlBackend:
    """Units of work over the test session's engine for this database; `empty` deletes every
    row, which is what a new database would hold."""

    name: str
    engine: AsyncEngine

    def uow(self) -> ShopUnitOfWork:
        return SqlUnitOfWork(self.engine, now=lambda: datetime.now(UTC))

    def catalog_views(self) -> CatalogViews:
        return SqlCatalogViews(self.engine)

    def stock_views(self) -> StockViews:
        return SqlStockViews(self.engine)

    def product_pages(self) -> ProductPages:
        return SqlProductPages(self.engine)

    def idempotency(self) -> IdempotencyStore:
        return SqlIdempotencyStore(self.engine)

    def gateway(self) -> PaymentGateway:
        return SqlSimulatedGateway(self.engine)

    async def charges(self) -> dict[str, Charge]:
        return await SqlSimulatedGateway(self.engine).charges()

    async def empty(self) -> None:
        await delete_every_row(self.engine)
        # What this process learned of the rows just deleted (a new database knows nothing).
        sole_locations_of(self.engine.sync_engine).clear()


def memory_backend(request: pytest.FixtureRequest) -> Backend:
    return MemoryBackend()


def sqlite_backend(request: pytest.FixtureRequest) -> Backend:
    return SqlBackend("sqlite", request.getfixturevalue("sqlite_engine"))


def postgres_backend(request: pytest.FixtureRequest) -> Backend:
    return SqlBackend("postgres", request.getfixturevalue("postgres_engine"))


def pgbouncer_backend(request: pytest.FixtureRequest) -> Backend:
    return SqlBackend("pgbouncer", request.getfixturevalue("pgbouncer_engine"))


BACKEND_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], Backend]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
    "pgbouncer": pgbouncer_backend,
}

# Backends whose state outlives the objects that wrote it: a new object (another process, or
# the same one restarted) sees it.
DURABLE = ("sqlite", "postgres", "pgbouncer")

# Marks per backend; a service backend skips (and fails under CI=true) when it is down.
BACKEND_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "memory": (),
    "sqlite": (pytest.mark.sqlite,),
    "postgres": (pytest.mark.postgres,),
    "pgbouncer": (pytest.mark.postgres,),
}
