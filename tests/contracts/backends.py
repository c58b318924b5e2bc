"""The storage backends the contract suites run against.

A backend hands out units of work over one fresh, empty store. Every suite in this package
talks to it through the ports only, so a new adapter family joins by adding a factory (and the
pytest marks that gate it) to the two tables at the bottom.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.idempotency import SqlIdempotencyStore
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from shopcore.application.idempotency import IdempotencyStore
from shopcore.bootstrap import ShopUnitOfWork
from tests.support.databases import empty_postgres, fresh_sqlite


class Backend(Protocol):
    name: str

    def uow(self) -> ShopUnitOfWork: ...

    def idempotency(self) -> IdempotencyStore: ...

    async def close(self) -> None: ...


@dataclass
class MemoryBackend:
    name: str = "memory"
    store: MemoryStore = field(default_factory=MemoryStore)
    keys: MemoryIdempotencyStore = field(default_factory=MemoryIdempotencyStore)

    def uow(self) -> ShopUnitOfWork:
        return MemoryUnitOfWork(self.store)

    def idempotency(self) -> IdempotencyStore:
        return self.keys

    async def close(self) -> None:
        return None


@dataclass
class SqlBackend:
    name: str
    engine: AsyncEngine

    def uow(self) -> ShopUnitOfWork:
        return SqlUnitOfWork(self.engine, now=lambda: datetime.now(UTC))

    def idempotency(self) -> IdempotencyStore:
        return SqlIdempotencyStore(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


async def memory_backend(request: pytest.FixtureRequest) -> Backend:
    return MemoryBackend()


async def sqlite_backend(request: pytest.FixtureRequest) -> Backend:
    directory: Path = request.getfixturevalue("tmp_path")
    return SqlBackend("sqlite", await fresh_sqlite(directory))


async def postgres_backend(request: pytest.FixtureRequest) -> Backend:
    url: str = request.getfixturevalue("postgres_url")
    return SqlBackend("postgres", await empty_postgres(url, pool_size=20))


BACKEND_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], Awaitable[Backend]]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}

# Marks per backend; a service backend skips (and fails under CI=true) when it is down.
BACKEND_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "memory": (),
    "sqlite": (pytest.mark.sqlite,),
    "postgres": (pytest.mark.postgres,),
}
