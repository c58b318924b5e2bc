"""With SHOPCORE_REDIS_URL, rate-limit counters live in Redis: every API process counts
against one limit, and readiness checks Redis too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.support.api import api_app, test_settings
from tests.support.databases import fresh_sqlite
from tests.support.redis import require_redis, unique_prefix

pytestmark = pytest.mark.redis


@pytest.fixture
async def two_instances(
    tmp_path: Path,
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar]]]:
    redis_url = require_redis()
    prefix = unique_prefix()
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        redis_url=redis_url,
        redis_namespace=prefix,
        rate_limit_per_minute=4,
    )
    first, _, side_a = api_app(settings)
    second, _, side_b = api_app(settings)
    await side_a.aclose()
    await side_b.aclose()
    try:
        async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
            yield a, b
    finally:
        client = Redis.from_url(redis_url)
        keys = [
            key
            for pattern in (f"{prefix}*", f"{{{prefix}*")  # and hash-tagged keys
            async for key in client.scan_iter(match=pattern, count=500)
        ]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_two_instances_share_one_rate_limit(
    two_instances: tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar]],
) -> None:
    a, b = two_instances
    statuses = [(await client.get("/v1/products")).status_code for client in (a, b, a, b)]
    over = await a.get("/v1/products")

    assert statuses == [200, 200, 200, 200]  # two instances, one budget of 4
    assert over.status_code == 429
    assert "retry-after" in over.headers


async def test_readiness_checks_redis(
    two_instances: tuple[AsyncTestClient[Litestar], AsyncTestClient[Litestar]],
) -> None:
    a, _ = two_instances

    response = await a.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_hundreds_of_concurrent_requests_are_counted_without_running_out_of_connections(
    tmp_path: Path,
) -> None:
    """redis-py's pool refuses connections beyond its maximum (100) instead of waiting: the
    limiter must not want one per request in flight (a flash sale has hundreds)."""
    redis_url = require_redis()
    prefix = unique_prefix()
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        redis_url=redis_url,
        redis_namespace=prefix,
        rate_limit_per_minute=100_000,
    )
    app, _, side = api_app(settings)
    await side.aclose()
    try:
        # On this event loop, without a client-side connection limit: all 300 at once.
        transport = httpx.ASGITransport(app=app)
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            answers = await asyncio.gather(*(client.get("/v1/products") for _ in range(300)))
        assert {answer.status_code for answer in answers} == {200}
        assert min(int(a.headers["ratelimit-remaining"]) for a in answers) == 100_000 - 300
    finally:
        redis = Redis.from_url(redis_url)
        keys = [
            key
            for pattern in (f"{prefix}*", f"{{{prefix}*")  # and hash-tagged keys
            async for key in redis.scan_iter(match=pattern, count=500)
        ]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
