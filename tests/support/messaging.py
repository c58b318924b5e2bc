"""Fixtures for the tests that use messaging (tests/messaging, tests/system): a Redis client
whose keys live under a prefix of this test's own, and SQL databases holding the outbox.
Each of those directories' conftest imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.messaging.connection import RedisClient, connect
from adapters.messaging.streams import EventStreams, RedisStreamPublisher
from tests.support.databases import empty_postgres, fresh_sqlite
from tests.support.redis import delete_prefix, require_redis, streams_under, unique_prefix


@dataclass(frozen=True)
class Bed:
    """What a messaging test works with: Redis, its streams and their key prefix."""

    redis: RedisClient
    url: str
    prefix: str
    streams: EventStreams
    cluster: bool = False  # `url` names a node of a cluster (SHOPCORE_REDIS_CLUSTER)


async def fed_publisher(bed: Bed, **options: Any) -> RedisStreamPublisher:
    """A publisher whose stream the outbox already feeds, as a relay's first settle leaves it
    (a relay given a publisher that is not fed yet rewinds and opens the feed first)."""
    publisher = RedisStreamPublisher(bed.redis, bed.streams, **options)
    await publisher.open_feed()
    return publisher


@asynccontextmanager
async def bed_on(url: str, *, cluster: bool = False) -> AsyncIterator[Bed]:
    """A bed on the Redis at `url`, or on the cluster one of whose nodes it names."""
    prefix = unique_prefix()
    client = connect(url, cluster=cluster)
    try:
        yield Bed(client, url, prefix, streams_under(prefix), cluster)
    finally:
        if not cluster:  # a test cluster is the session's own, and gone with it
            await delete_prefix(client, prefix)  # type: ignore[arg-type]
        await client.aclose()


@pytest.fixture
async def bed() -> AsyncIterator[Bed]:
    async with bed_on(require_redis()) as bed:
        yield bed


@dataclass(frozen=True)
class Database:
    name: str
    engine: AsyncEngine
    url: str

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, now=lambda: datetime.now(UTC))


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[Database]:
    engine = await empty_postgres(postgres_url, pool_size=10)
    try:
        yield Database("postgres", engine, postgres_url)
    finally:
        await engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        engine = await fresh_sqlite(tmp_path)
        url = str(engine.url)
    else:
        url = request.getfixturevalue("postgres_url")
        engine = await empty_postgres(url, pool_size=10)
    try:
        yield Database(request.param, engine, url)
    finally:
        await engine.dispose()
