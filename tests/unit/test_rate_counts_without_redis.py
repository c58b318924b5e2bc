"""The limiter while Redis does not answer: every request is still answered and counted, in
this process alone, with the same limit; Redis is tried again once in a while, not per request;
the outage is logged when it starts and when it ends; and counting is shared again once Redis
answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.http.rate_counts import SharedCounts


class FlakyRedis:
    """The one script the limiter runs, against counters in memory, or refused while down."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0
        self.counts: dict[str, int] = {}

    def register_script(self, _source: str) -> Any:
        async def script(*, keys: list[str], args: list[int]) -> list[int]:
            self.calls += 1
            if not self.up:
                raise RedisConnectionError("Connection refused")
            self.counts[keys[0]] = self.counts.get(keys[0], 0) + int(args[1])
            return [self.counts[keys[0]], int(args[0])]

        return script


def limiter(redis: FlakyRedis, limit: int = 5, retry_after: float = 60.0) -> SharedCounts:
    return SharedCounts(redis, limit=limit, window=60, retry_after=retry_after)  # type: ignore[arg-type]


async def test_while_redis_is_down_this_process_counts_the_same_limit_on_its_own() -> None:
    redis = FlakyRedis()
    counts = limiter(redis, limit=5)
    await counts.count("client")
    redis.up = False

    answers = [(await counts.count("client"))[0] for _ in range(7)]

    assert answers == [1, 2, 3, 4, 5, 6, 7]  # a fresh window here: 6 and 7 are refused
    assert [(await counts.count("other"))[0] for _ in range(2)] == [1, 2]


async def test_redis_is_tried_once_when_it_fails_not_by_every_request() -> None:
    redis = FlakyRedis()
    counts = limiter(redis)
    redis.up = False

    await asyncio.gather(*(counts.count("client") for _ in range(100)))
    await asyncio.gather(*(counts.count(f"client-{n}") for n in range(100)))

    assert redis.calls == 1


async def test_counts_are_shared_again_once_redis_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = FlakyRedis()
    counts = limiter(redis, retry_after=0.01)
    caplog.set_level(logging.INFO, logger="shopcore.rate_limit")
    redis.up = False
    for _ in range(50):
        await counts.count("client")
    redis.up = True
    await asyncio.sleep(0.02)  # the next request probes Redis

    assert (await counts.count("client"))[0] == 1  # Redis's count: the local ones stay local
    assert (await counts.count("client"))[0] == 2
    assert redis.counts == {"client": 2}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "unreachable" in messages[0] and "answers again" in messages[1]


async def test_a_failing_flush_keeps_its_counts_for_when_redis_answers() -> None:
    redis = FlakyRedis()
    counts = SharedCounts(redis, limit=1_000, window=60, retry_after=0.01)  # type: ignore[arg-type]
    await counts.count("client")  # counted in Redis; the next ones are admitted here
    for _ in range(10):
        await counts.count("client")
    redis.up = False
    await asyncio.sleep(0.1)  # the flush fails and gives up
    redis.up = True
    await asyncio.sleep(0.02)

    count, _ = await counts.count("client")

    assert count == 12  # the ten admitted here reached Redis with this one
    assert redis.counts == {"client": 12}
