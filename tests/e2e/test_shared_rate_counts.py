"""SharedCounts, the limiter's counts in Redis: most requests are admitted on what the process
knows, every request is still counted in Redis, and the limit holds (exactly in one process,
within the documented slack across several, exactly for small limits everywhere)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.http import rate_counts
from adapters.http.rate_counts import SharedCounts
from tests.support.redis import delete_prefix, require_redis, unique_prefix

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(require_redis())
    prefix = unique_prefix()
    try:
        yield client, prefix
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


class Counting:
    """Counts the round trips a SharedCounts makes to Redis."""

    def __init__(self, counts: SharedCounts) -> None:
        self.calls = 0
        script = counts._script

        async def counted(**kwargs: object) -> object:
            self.calls += 1
            return await script(**kwargs)  # type: ignore[arg-type]

        counts._script = counted  # type: ignore[assignment]


async def settled(client: Redis, key: str) -> int:
    """The count in Redis once the flushes in flight have landed."""
    await asyncio.sleep(rate_counts.FLUSH_SECONDS * 4)
    return int(await client.get(key) or 0)


async def test_most_requests_are_admitted_without_a_round_trip_and_all_are_counted(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    counts = SharedCounts(client, limit=100_000, window=60)
    trips = Counting(counts)
    key = f"{prefix}:client"

    answers = []
    for _ in range(10):  # bursts, with pauses longer than a flush interval between them
        answers += [await counts.count(key) for _ in range(100)]
        await asyncio.sleep(rate_counts.FLUSH_SECONDS * 2)

    assert [count for count, _ in answers] == list(range(1, 1001))
    assert trips.calls <= 30  # one before the first answer, then about one per flush
    assert await settled(client, key) == 1000
    assert all(0 < ttl <= 60 for _, ttl in answers)


async def test_one_process_refuses_exactly_past_the_limit(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    counts = SharedCounts(client, limit=200, window=60)
    key = f"{prefix}:client"

    answers = [(await counts.count(key))[0] for _ in range(230)]

    assert sum(1 for count in answers if count <= 200) == 200
    assert answers[200:] == list(range(201, 231))  # the refused are counted too
    assert await settled(client, key) == 230


async def test_small_limits_are_exact_across_processes(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    first = SharedCounts(client, limit=rate_counts.LOCAL_FROM - 1, window=60)
    second = SharedCounts(client, limit=rate_counts.LOCAL_FROM - 1, window=60)
    trips = [Counting(first), Counting(second)]
    key = f"{prefix}:client"

    answers = [(await process.count(key))[0] for _ in range(60) for process in (first, second)]

    assert sorted(answers) == list(range(1, 121))  # every one counted in Redis first
    assert sum(trip.calls for trip in trips) == 120


async def test_processes_share_one_limit_within_a_tenth_of_it_each(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    limit = 1_000
    processes = [SharedCounts(client, limit=limit, window=60) for _ in range(3)]
    key = f"{prefix}:client"

    async def client_of(process: SharedCounts) -> int:
        admitted = 0
        for _ in range(600):
            count, _ = await process.count(key)
            admitted += count <= limit
            await asyncio.sleep(0)  # the three interleave, as on three machines
        return admitted

    admitted = sum(await asyncio.gather(*(client_of(p) for p in processes)))

    assert limit <= admitted <= limit + 2 * limit // 10  # slack: the others' unsent counts
    assert await settled(client, key) == 1_800


async def test_a_first_count_answered_late_keeps_what_was_admitted_meanwhile(
    redis: tuple[Redis, str],
) -> None:
    """A burst's first requests all go to Redis (nothing is known here yet); the first answer
    opens the window and the next requests are admitted on it. A later first answer must not
    open it again: what was admitted meanwhile would drop out of the counts answered (found
    by tests/e2e/test_redis_rate_limits.py under load: 99,716 remaining after 300 requests)."""
    client, prefix = redis
    counts = SharedCounts(client, limit=100_000, window=60)
    key = f"{prefix}:client"
    script, release, calls = counts._script, asyncio.Event(), 0

    async def second_held(**kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            await release.wait()
        return await script(**kwargs)  # type: ignore[arg-type]

    counts._script = second_held  # type: ignore[assignment]
    first = asyncio.create_task(counts.count(key))
    late = asyncio.create_task(counts.count(key))
    assert (await first)[0] == 1
    admitted = [(await counts.count(key))[0] for _ in range(10)]  # on the window just opened
    release.set()
    assert (await late)[0] == 2

    assert admitted == list(range(2, 12))
    assert (await counts.count(key))[0] == 13  # 1 + 1 + 10 before it, every one counted
    assert await settled(client, key) == 13
