from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.engine import create_engine
from adapters.memory.clock import ManualClock
from tests.contracts.backends import BACKEND_FACTORIES, BACKEND_MARKS, DURABLE, Backend
from tests.contracts.builders import START
from tests.support.databases import fresh_sqlite
from tests.support.pgbouncer import pgbouncer_in_front_of


@pytest.fixture(scope="session")
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    engine = await fresh_sqlite(tmp_path_factory.mktemp("contracts"))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    # Room for the concurrency suites' parallel transactions (5, and 5 more on overflow), and
    # few kept open between tests: PostgreSQL allows 100 clients for every worker's pools and
    # the race tests' processes together.
    engine = create_engine(postgres_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def pgbouncer_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The same database through a real PgBouncer in transaction mode: more clients than
    server connections, so transactions take turns on them (tests/support/pgbouncer.py)."""
    with pgbouncer_in_front_of(postgres_url) as url:
        engine = create_engine(url, pool_size=5, transaction_pooler=True)
        yield engine
        await engine.dispose()


@pytest.fixture(
    params=[
        pytest.param(name, marks=BACKEND_MARKS.get(name, ()), id=name) for name in BACKEND_FACTORIES
    ]
)
def chosen_backend(request: pytest.FixtureRequest) -> Backend:
    return BACKEND_FACTORIES[request.param](request)


@pytest.fixture
async def backend(chosen_backend: Backend) -> Backend:
    await chosen_backend.empty()
    return chosen_backend


@pytest.fixture(
    params=[pytest.param(name, marks=BACKEND_MARKS.get(name, ()), id=name) for name in DURABLE]
)
async def durable_backend(request: pytest.FixtureRequest) -> Backend:
    """An empty backend whose state outlives the objects that wrote it (see `DURABLE`)."""
    chosen = BACKEND_FACTORIES[request.param](request)
    await chosen.empty()
    return chosen


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
