"""The machine's Redis for tests, with a key prefix per test so concurrent runs never touch
each other's streams.

The URL comes from SHOPCORE_TEST_REDIS_URL (default: the local server, database 15). When it
cannot be reached the tests that need it skip with the reason; under CI=true
tests/conftest.py turns that skip into a failure. Cleaning up deletes only the keys under the
test's own prefix, never the whole database.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets

import pytest
from redis.asyncio import Redis

from adapters.messaging.connection import connect
from adapters.messaging.streams import EventStreams
from tests.support.databases import _blocking

REDIS_URL = os.environ.get("SHOPCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@functools.cache
def redis_problem() -> str | None:
    """None when Redis answers; otherwise why not (checked once per session)."""

    async def probe() -> None:
        client = connect(REDIS_URL)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        _blocking(lambda: asyncio.wait_for(probe(), timeout=5))
    except Exception as error:  # any failure to connect means: not available here
        return f"Redis not reachable at SHOPCORE_TEST_REDIS_URL: {error!r}"[:300]
    return None


def require_redis() -> str:
    problem = redis_problem()
    if problem is not None:
        pytest.skip(problem)
    return REDIS_URL


def unique_prefix() -> str:
    return f"shopcore-test:{os.getpid()}:{secrets.token_hex(4)}"


def streams_under(prefix: str) -> EventStreams:
    return EventStreams.named(f"{prefix}:events")


async def delete_prefix(client: Redis, prefix: str) -> None:
    """The keys under `prefix`, and those hash-tagged with it (`{<prefix>:events}:fed`)."""
    for pattern in (f"{prefix}:*", f"{{{prefix}:*"):
        keys = [key async for key in client.scan_iter(match=pattern, count=500)]
        if keys:
            await client.delete(*keys)
