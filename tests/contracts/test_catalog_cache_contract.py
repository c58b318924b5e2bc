"""The catalog cache contract, for the in-process cache and the Redis one: hits and misses,
ETags, what each change drops, a load that races a change, and stampedes.

A catalog cache is both ports at once: the HTTP controllers read through it (`CatalogReads`),
the core drops from it (`CatalogCache`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import pytest
from redis.asyncio import Redis

from adapters.machinery.cached_reads import CatalogRead, CatalogReads, UncachedReads, etag_of
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.messaging.cache import RedisCatalogCache
from adapters.messaging.connection import open_client
from shopcore.catalog.ports import CatalogCache
from tests.support.redis import delete_prefix, require_redis, unique_prefix
from tests.support.redis_cluster import LocalCluster


class ReadAndDrop(CatalogReads, CatalogCache, Protocol):
    """What every catalog cache is: read by the HTTP adapter, invalidated by the core."""


@dataclass
class Loader:
    """A load that counts its calls, optionally waiting for a signal before it answers."""

    read: CatalogRead
    calls: int = 0
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self) -> CatalogRead:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.read


def detail(product_id: str, *skus: str, body: bytes = b"") -> CatalogRead:
    return CatalogRead(
        body=body or f'{{"id":"{product_id}"}}'.encode(), product_ids=(product_id,), skus=skus
    )


LISTING = CatalogRead(body=b'{"items":[],"next_cursor":null}', listing=True)


@asynccontextmanager
async def redis_caches(
    near_seconds: float = 0.0, cluster: LocalCluster | None = None
) -> AsyncIterator[tuple[RedisCatalogCache, RedisCatalogCache]]:
    """Two caches over one Redis namespace, each with its own client: two API processes (on
    the machine's Redis, or on `cluster`)."""
    url = require_redis() if cluster is None else cluster.url
    prefix = unique_prefix()
    client, other = (open_client(url, cluster=cluster is not None) for _ in range(2))
    caches = tuple(
        RedisCatalogCache(
            redis,
            namespace=prefix,
            ttl_seconds=60,
            near=MemoryCatalogCache(ttl_seconds=near_seconds) if near_seconds else None,
        )
        for redis in (client, other)
    )
    try:
        yield caches
    finally:
        for cache in caches:
            await cache.close()
        if cluster is None:  # a test cluster is the session's own, and gone with it
            await delete_prefix(client, prefix)  # type: ignore[arg-type]
        await client.aclose()
        await other.aclose()


async def listening(cache: RedisCatalogCache) -> RedisCatalogCache:
    """The cache once its near copy is in use (the first read starts the listener)."""
    await cache.read("warm-up", Loader(detail("warm-up")))
    for _ in range(500):
        if cache.near_live:
            return cache
        await asyncio.sleep(0.01)
    raise AssertionError("the near cache never subscribed to the invalidations")


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-near", marks=pytest.mark.redis),
        pytest.param("redis-cluster-near", marks=pytest.mark.redis),
    ]
)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[ReadAndDrop]:
    if request.param == "memory":
        yield MemoryCatalogCache(ttl_seconds=60)
        return
    near = 60.0 if request.param.endswith("-near") else 0.0
    cluster = None
    if "cluster" in request.param:
        cluster = request.getfixturevalue("redis_cluster")
    async with redis_caches(near, cluster) as (first, _):
        yield await listening(first) if near else first


@pytest.fixture
async def processes() -> AsyncIterator[tuple[RedisCatalogCache, RedisCatalogCache]]:
    async with redis_caches() as pair:
        yield pair


async def test_a_miss_loads_and_a_hit_does_not(cache: ReadAndDrop) -> None:
    load = Loader(detail("p1", "A"))

    first = await cache.read("detail:p1", load)
    second = await cache.read("detail:p1", load)

    assert load.calls == 1
    assert first == second
    assert first.body == load.read.body  # byte for byte what the loader made
    assert first.etag == etag_of(first.body)
    assert first.etag.startswith('"') and first.etag.endswith('"')


async def test_a_peek_answers_only_what_this_process_holds_and_never_loads(
    cache: ReadAndDrop,
) -> None:
    load = Loader(detail("p1", "A"))
    before = cache.peek("detail:p1")
    kept = await cache.read("detail:p1", load)
    held = cache.peek("detail:p1")
    await cache.invalidate(["p1"], [])

    assert before is None
    # In this process's memory (the memory cache, the near copy): the very answer of a read.
    # Redis alone holds nothing in the process, so a peek there never answers.
    near = isinstance(cache, MemoryCatalogCache) or getattr(cache, "near_live", False)
    assert held == (kept if near else None)
    assert cache.peek("detail:p1") is None
    assert load.calls == 1


async def test_different_bodies_have_different_etags(cache: ReadAndDrop) -> None:
    one = await cache.read("a", Loader(detail("p1", body=b'{"x":1}')))
    two = await cache.read("b", Loader(detail("p2", body=b'{"x":2}')))

    assert one.etag != two.etag


async def test_a_product_change_drops_its_details_and_every_listing(cache: ReadAndDrop) -> None:
    by_id, by_slug, other = (
        Loader(detail("p1", "A")),
        Loader(detail("p1", "A")),
        Loader(detail("p2")),
    )
    pages = [Loader(LISTING), Loader(LISTING)]
    for key, load in [("detail:p1", by_id), ("detail:shirt", by_slug), ("detail:p2", other)]:
        await cache.read(key, load)
    for number, page in enumerate(pages):
        await cache.read(f"list:{number}", page)

    await cache.invalidate(["p1"], ["A"])
    for key, load in [("detail:p1", by_id), ("detail:shirt", by_slug), ("detail:p2", other)]:
        await cache.read(key, load)
    for number, page in enumerate(pages):
        await cache.read(f"list:{number}", page)

    assert (by_id.calls, by_slug.calls, other.calls) == (2, 2, 1)
    assert [page.calls for page in pages] == [2, 2]


async def test_a_stock_change_drops_the_details_showing_the_sku_and_no_listing(
    cache: ReadAndDrop,
) -> None:
    shows_a, shows_b, page = (
        Loader(detail("p1", "A", "B")),
        Loader(detail("p2", "C")),
        Loader(LISTING),
    )
    await cache.read("detail:p1", shows_a)
    await cache.read("detail:p2", shows_b)
    await cache.read("list:0", page)

    await cache.invalidate([], ["B"])
    await cache.read("detail:p1", shows_a)
    await cache.read("detail:p2", shows_b)
    await cache.read("list:0", page)

    assert (shows_a.calls, shows_b.calls, page.calls) == (2, 1, 1)


async def test_a_load_that_raced_a_change_is_served_but_not_kept(cache: ReadAndDrop) -> None:
    slow = Loader(detail("p1", "A"), gate=asyncio.Event())
    reading = asyncio.create_task(cache.read("detail:p1", slow))
    await slow.started.wait()

    await cache.invalidate([], ["A"])  # committed while the load was reading
    assert slow.gate is not None
    slow.gate.set()
    served = await reading
    again = await cache.read("detail:p1", slow)

    assert served.body == slow.read.body
    assert again == served
    assert slow.calls == 2  # the raced copy was not kept


async def test_a_change_to_something_else_does_not_stop_a_load_being_kept(
    cache: ReadAndDrop,
) -> None:
    slow = Loader(detail("p1", "A"), gate=asyncio.Event())
    reading = asyncio.create_task(cache.read("detail:p1", slow))
    await slow.started.wait()

    await cache.invalidate([], ["Z"])
    assert slow.gate is not None
    slow.gate.set()
    await reading
    await cache.read("detail:p1", slow)

    assert slow.calls == 1


async def test_concurrent_misses_of_one_key_load_once(cache: ReadAndDrop) -> None:
    load = Loader(detail("p1", "A"), gate=asyncio.Event())

    readers = [asyncio.create_task(cache.read("detail:p1", load)) for _ in range(50)]
    await load.started.wait()
    await asyncio.sleep(0.05)  # every reader has arrived and is waiting
    assert load.gate is not None
    load.gate.set()
    results = await asyncio.gather(*readers)

    assert load.calls == 1
    assert len({result.etag for result in results}) == 1


@pytest.mark.redis
async def test_concurrent_misses_in_two_processes_load_once(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    load = Loader(detail("p1", "A"), gate=asyncio.Event())

    readers = [
        asyncio.create_task(process.read("detail:p1", load))
        for process in processes
        for _ in range(20)
    ]
    await load.started.wait()
    await asyncio.sleep(0.1)
    assert load.gate is not None
    load.gate.set()
    results = await asyncio.gather(*readers)

    assert load.calls == 1
    assert len({result.body for result in results}) == 1


@pytest.mark.redis
async def test_a_change_seen_by_one_process_drops_the_entry_for_all(
    processes: tuple[RedisCatalogCache, RedisCatalogCache],
) -> None:
    first, second = processes
    load = Loader(detail("p1", "A"))
    await first.read("detail:p1", load)
    await second.read("detail:p1", load)

    await second.invalidate(["p1"], [])
    await first.read("detail:p1", load)

    assert load.calls == 2


async def test_a_failed_load_keeps_nothing_and_reaches_every_waiter(cache: ReadAndDrop) -> None:
    calls = 0

    async def failing() -> CatalogRead:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise LookupError("no such product")

    results = await asyncio.gather(
        *(cache.read("detail:gone", failing) for _ in range(5)), return_exceptions=True
    )
    load = Loader(detail("p1"))
    await cache.read("detail:gone", load)

    assert all(isinstance(result, LookupError) for result in results)
    assert calls == 1
    assert load.calls == 1


async def test_the_null_cache_holds_nothing_to_peek_at() -> None:
    cache = UncachedReads()
    await cache.read("detail:p1", Loader(detail("p1")))

    assert cache.peek("detail:p1") is None


async def test_the_null_cache_always_loads() -> None:
    load = Loader(detail("p1", "A"))
    cache = UncachedReads()

    first = await cache.read("detail:p1", load)
    await cache.read("detail:p1", load)
    await cache.invalidate(["p1"], ["A"])

    assert load.calls == 2
    assert first.etag == etag_of(first.body)


async def test_memory_entries_expire() -> None:
    now = [0.0]
    cache = MemoryCatalogCache(ttl_seconds=10, monotonic=lambda: now[0])
    load = Loader(detail("p1"))

    await cache.read("detail:p1", load)
    now[0] = 9.9
    await cache.read("detail:p1", load)
    now[0] = 10.0
    await cache.read("detail:p1", load)

    assert load.calls == 2


async def test_the_memory_cache_keeps_at_most_its_limit() -> None:
    cache = MemoryCatalogCache(ttl_seconds=60, max_entries=3)
    for number in range(5):
        await cache.read(f"detail:{number}", Loader(detail(str(number))))

    assert len(cache) == 3


@pytest.mark.redis
async def test_redis_entries_expire() -> None:
    url = require_redis()
    prefix = unique_prefix()
    client = Redis.from_url(url)
    try:
        cache = RedisCatalogCache(client, namespace=prefix, ttl_seconds=1)
        load = Loader(detail("p1"))
        await cache.read("detail:p1", load)
        ttl = await client.pttl(f"{{{prefix}:catalog}}:entry:detail:p1")
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()

    assert 0 < ttl <= 1000


async def test_without_redis_reads_are_served_uncached() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    cache = RedisCatalogCache(unreachable, namespace="nowhere")
    load = Loader(detail("p1"))
    try:
        first = await cache.read("detail:p1", load)
        await cache.read("detail:p1", load)
    finally:
        await unreachable.aclose()

    assert first.body == load.read.body
    assert load.calls == 2
