"""The near cache of RedisCatalogCache: each API process keeps what it read in its own memory,
and a change made anywhere drops that copy everywhere through Redis pub/sub.

The near copies here live 60 s, so when a test sees a fresh load within a few seconds, only an
invalidation message (or the reset after a reconnection) can explain it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.messaging.cache import RedisCatalogCache
from tests.contracts.test_catalog_cache_contract import (
    LISTING,
    Loader,
    detail,
    listening,
    redis_caches,
)
from tests.support.redis import require_redis

pytestmark = pytest.mark.redis


@pytest.fixture
async def processes() -> AsyncIterator[tuple[RedisCatalogCache, RedisCatalogCache]]:
    async with redis_caches(near_seconds=60) as (first, second):
        yield await listening(first), await listening(second)


async def reloads(cache: RedisCatalogCache, key: str, load: Loader, calls: int) -> bool:
    """Whether reading `key` reaches `calls` loads within 5 s."""
    for _ in range(500):
        await cache.read(key, load)
        if load.calls >= calls:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_hit_is_answered_from_memory_without_redis(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, _ = processes
    load = Loader(detail("p1", "A"))
    kept = await first.read("detail:p1", load)
    client = Redis.from_url(require_redis())
    try:
        # Gone from Redis behind the cache's back: only the process's own copy can answer.
        await client.delete(*[key async for key in client.scan_iter(match="*:entry:detail:p1")])
    finally:
        await client.aclose()

    again = await first.read("detail:p1", load)

    assert load.calls == 1
    assert again == kept


async def test_a_change_in_one_process_drops_the_near_copy_of_another(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, second = processes
    shows_a, page, other = Loader(detail("p1", "A")), Loader(LISTING), Loader(detail("p2", "B"))
    for key, load in [("detail:p1", shows_a), ("list:0", page), ("detail:p2", other)]:
        await first.read(key, load)

    await second.invalidate([], ["A"])

    assert await reloads(first, "detail:p1", shows_a, calls=2)
    await first.read("list:0", page)
    await first.read("detail:p2", other)
    assert (page.calls, other.calls) == (1, 1)  # a stock change of A drops nothing else


async def test_a_product_change_drops_every_near_listing(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, second = processes
    page = Loader(LISTING)
    await first.read("list:0", page)

    await second.invalidate(["p9"], [])

    assert await reloads(first, "list:0", page, calls=2)


async def test_after_a_lost_connection_nothing_from_before_is_served(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    """Messages published while the subscription was down are lost: the near copy must start
    empty once it is back."""
    first, _ = processes
    admin = Redis.from_url(require_redis(), decode_responses=True)
    try:
        before = {client["id"] for client in await admin.client_list(_type="pubsub")}
        await first.close()  # a new listener, whose connection this test can tell apart
        load = Loader(detail("p1", "A"))
        await listening(first)
        await first.read("detail:p1", load)
        mine = {client["id"] for client in await admin.client_list(_type="pubsub")} - before
        assert len(mine) == 1
        await admin.delete(*[key async for key in admin.scan_iter(match="*:entry:detail:p1")])

        await admin.client_kill_filter(_id=next(iter(mine)))
        for _ in range(500):  # until it has subscribed again, on a new connection
            now = {client["id"] for client in await admin.client_list(_type="pubsub")}
            if now - before - mine and first.near_live:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the near cache did not subscribe again")
        await first.read("detail:p1", load)

        assert load.calls == 2
    finally:
        await admin.aclose()


async def test_a_load_that_raced_a_change_elsewhere_is_not_kept_near(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, second = processes
    slow = Loader(detail("p1", "A"), gate=asyncio.Event())
    reading = asyncio.create_task(first.read("detail:p1", slow))
    await slow.started.wait()

    await second.invalidate([], ["A"])  # committed elsewhere while the load was reading
    await asyncio.sleep(0.2)  # the message arrives before the load ends
    assert slow.gate is not None
    slow.gate.set()
    await reading

    assert await reloads(first, "detail:p1", slow, calls=2)


async def test_the_listener_stops_with_the_cache(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, _ = processes
    await first.close()

    assert not first.near_live
    load = Loader(detail("p3"))
    await first.read("detail:p3", load)  # still answers, from Redis, and listens again
    assert load.calls == 1


async def test_invalidations_of_one_turn_go_in_one_script_call_and_each_drops_its_own(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, second = processes
    loads = {sku: Loader(detail(f"p-{sku}", sku)) for sku in "ABC"}
    for sku, load in loads.items():
        await second.read(f"detail:p-{sku}", load)
    calls = 0
    drop = first._drop

    async def counted(**arguments: object) -> object:
        nonlocal calls
        calls += 1
        return await drop(**arguments)  # type: ignore[arg-type]

    first._drop = counted  # type: ignore[method-assign]

    await asyncio.gather(first.invalidate([], ["A"]), first.invalidate([], ["B"]))

    assert calls == 1
    for sku in "AB":
        assert await reloads(second, f"detail:p-{sku}", loads[sku], calls=2)
    await second.read("detail:p-C", loads["C"])
    assert loads["C"].calls == 1  # not dropped with them


async def test_a_failed_gathered_invalidation_fails_every_caller(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, _ = processes

    async def broken(**arguments: object) -> object:
        raise ConnectionError("Redis went away")

    first._drop = broken  # type: ignore[method-assign]

    outcomes = await asyncio.gather(
        first.invalidate([], ["A"]), first.invalidate([], ["B"]), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes] == [ConnectionError, ConnectionError]
