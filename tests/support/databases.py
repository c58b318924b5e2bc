"""Test databases: a fresh SQLite file per test, and the machine's PostgreSQL, emptied per test.

Each test session (each xdist worker) migrates a PostgreSQL database of its own once; a test
empties it with one DELETE per table in a single transaction (about 10 ms, where TRUNCATE ...
CASCADE took 130-700 ms: TRUNCATE rewrites every table's files and takes exclusive locks).

PostgreSQL's URL comes from SHOPCORE_TEST_POSTGRES_URL (default: the local server, trust auth,
database `test`). When it cannot be reached the tests that need it skip with the reason;
under CI=true tests/conftest.py turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.db import schema_revision
from adapters.db.engine import create_engine
from adapters.db.migrate import upgrade
from adapters.db.tables import metadata

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "SHOPCORE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _blocking(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when called under a running loop
    (an async fixture asking for a sync one): it gets a thread and a loop of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


@functools.cache
def postgres_problem() -> str | None:
    """None when PostgreSQL answers; otherwise why not (checked once per session)."""

    async def probe() -> None:
        engine = create_engine(POSTGRES_URL, pool_size=1)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        _blocking(lambda: asyncio.wait_for(probe(), timeout=10))
    except Exception as error:  # any failure to connect means: not available here
        return f"PostgreSQL not reachable at SHOPCORE_TEST_POSTGRES_URL: {error!r}"[:300]
    return None


def require_postgres() -> str:
    problem = postgres_problem()
    if problem is not None:
        pytest.skip(problem)
    return POSTGRES_URL


def scratch_postgres() -> str:
    """A database of this test session's own on the server, migrated to head: concurrent
    test runs on one machine never empty each other's tables. Drop it with `drop_postgres`."""
    base = make_url(require_postgres())
    name = f"shopcore_test_{os.getpid()}_{secrets.token_hex(4)}"

    async def create() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()

    _blocking(create)
    url = base.set(database=name).render_as_string(hide_password=False)
    with ThreadPoolExecutor(1) as pool:  # alembic's env.py runs an event loop of its own
        pool.submit(upgrade, url).result()
    return url


def drop_postgres(url: str) -> None:
    target = make_url(url)
    base = make_url(POSTGRES_URL)

    async def drop() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
                )
        finally:
            await engine.dispose()

    _blocking(drop)


async def empty_postgres(url: str, pool_size: int = 10) -> AsyncEngine:
    """An engine on `url` (from `scratch_postgres()`) whose tables hold no row."""
    engine = create_engine(url, pool_size=pool_size)
    await delete_every_row(engine)
    return engine


async def delete_every_row(engine: AsyncEngine) -> None:
    """Empty every table of the schema, children before parents, in one transaction.
    Sequences go on counting: no test may depend on the value of a generated id.

    A pooled connection found closed is thrown away by SQLAlchemy, and the emptying runs again
    on a fresh one (a full CI run met one, in the set-up of an e2e test on PostgreSQL); the
    shop's own units of work do the same through the bus (adapters/db/errors.py)."""
    for attempt in range(2):
        try:
            async with engine.begin() as connection:
                for table in reversed(metadata.sorted_tables):
                    await connection.execute(table.delete())
            return
        except DBAPIError as error:
            if attempt or not error.connection_invalidated:
                raise


async def fresh_sqlite(directory: Path) -> AsyncEngine:
    """The schema made from tables.py, faster than migrating, and stamped with the newest
    migration's revision as `shopcore db upgrade` leaves it (readiness checks it)."""
    engine = create_engine(f"sqlite+aiosqlite:///{directory / 'shop.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        )
        await connection.execute(
            text("INSERT INTO alembic_version VALUES (:head)"), {"head": schema_revision.head()}
        )
    return engine
