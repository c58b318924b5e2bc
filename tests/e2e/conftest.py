"""Every end-to-end test runs through the ASGI app on SQLite and on PostgreSQL.

Building the app costs 0.3-1.2 s (Litestar copies every route handler as it registers it), so a
test session (each xdist worker) builds one app per backend and serves every `api` test from
it. A test starts from what a new app would hold: no row in the database, an empty catalog
cache and an empty gateway ledger (`SharedApi.fresh`). What else the app keeps between
requests does not reach a test: rate-limit counters stay far below the test settings' limits,
and the live stock feed's tests serve an app of their own (test_stock_stream_api.py).
Tests that need other settings build their own app with `api_app(test_settings(...))`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.http.services import ApiServices
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.payments.simulated import SimulatedGateway
from apps.components import Components
from tests.support.api import Api, api_app, test_settings
from tests.support.databases import delete_every_row, empty_postgres, fresh_sqlite
from tests.support.tracing import spans

__all__ = ["spans"]  # the spans fixture, for the tracing tests

BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the backend `request.param` names, for a test's own app."""
    if request.param == "sqlite":
        return await sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    engine = await empty_postgres(url, pool_size=1)
    await engine.dispose()
    return url


async def sqlite_url(directory: Path) -> str:
    engine = await fresh_sqlite(directory)
    await engine.dispose()
    return f"sqlite+aiosqlite:///{directory / 'shop.db'}"


@dataclass
class SharedApi:
    """One app over one database, served to many tests in turn."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    gateway: SimulatedGateway
    side: Components
    database_url: str

    async def fresh(self) -> Api:
        await delete_every_row(self.side.engine)
        services: ApiServices = self.app.state["services"]
        cache = services.catalog_reads
        if isinstance(cache, MemoryCatalogCache):
            cache.clear()
        self.gateway.reset()
        return Api(
            client=self.client,
            app=self.app,
            gateway=self.gateway,
            shop=self.side.shop,
            database_url=self.database_url,
        )


@asynccontextmanager
async def shared_api(url: str) -> AsyncIterator[SharedApi]:
    app, gateway, side = api_app(test_settings(url))
    try:
        async with AsyncTestClient(app) as client:
            yield SharedApi(app, client, gateway, side, url)
    finally:
        await side.aclose()


@pytest.fixture(scope="session")
async def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SharedApi]:
    url = await sqlite_url(tmp_path_factory.mktemp("e2e-sqlite"))
    async with shared_api(url) as shared:
        yield shared


@pytest.fixture(scope="session")
async def postgres_api(postgres_url: str) -> AsyncIterator[SharedApi]:
    engine = await empty_postgres(postgres_url, pool_size=1)
    await engine.dispose()
    async with shared_api(postgres_url) as shared:
        yield shared


@pytest.fixture(params=BACKENDS)
def shared(request: pytest.FixtureRequest) -> SharedApi:
    found: SharedApi = request.getfixturevalue(f"{request.param}_api")
    return found


@pytest.fixture
async def api(shared: SharedApi) -> Api:
    return await shared.fresh()
