"""The Redis stock feed of an API process, on the machine's Redis: it follows the event stream
without a consumer group (every process sees every change), keeps StockChanged, and resumes
from a stream entry id while the stream still holds what came after it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from adapters.machinery.stock_fanout import StockSubscription
from adapters.messaging.stock_feed import RedisStockFeed
from shopcore.catalog.events import ProductCreated
from shopcore.inventory.events import StockChanged
from shopcore.shared.errors import Busy
from tests.messaging.helpers import publish, until
from tests.support.messaging import Bed, bed_on
from tests.support.redis import require_redis
from tests.support.waiting import PATIENCE

pytestmark = pytest.mark.redis

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)


def changed(sku: str, available: int) -> StockChanged:
    return StockChanged(
        sku=sku, on_hand=available, reserved=0, allocated=0, available=available, reason="t", at=AT
    )


@asynccontextmanager
async def following(bed: Bed, **options: int) -> AsyncIterator[RedisStockFeed]:
    feed = RedisStockFeed(bed.redis, bed.streams, block_ms=50, **options)
    await feed.start()
    try:
        await until(lambda: feed.position is not None)
        yield feed
    finally:
        await feed.stop()


async def updates(subscription: StockSubscription, count: int) -> list[tuple[str, int]]:
    got = []
    for _ in range(count):
        update = await subscription.next(within=PATIENCE)
        assert update is not None, f"only {got} within 5 s"
        got.append((update.sku, update.available))
    return got


async def test_every_process_sees_every_stock_change_of_its_skus(bed: Bed) -> None:
    async with following(bed) as first, following(bed) as second:
        a = await first.subscribe(["A"], after=None)
        b = await second.subscribe(["A", "B"], after=None)
        await publish(
            bed,
            changed("A", 1),
            ProductCreated(product_id="p", skus=("A",)),  # not a stock change: ignored
            changed("C", 7),  # nobody follows C
            changed("B", 2),
        )

        assert await updates(a, 1) == [("A", 1)]
        assert await updates(b, 2) == [("A", 1), ("B", 2)]
    assert not a.resumed


async def test_an_update_is_positioned_at_its_stream_entry(bed: Bed) -> None:
    async with following(bed) as feed:
        subscription = await feed.subscribe(["A"], after=None)
        [entry] = await publish(bed, changed("A", 4))
        update = await subscription.next(within=PATIENCE)

    assert update is not None
    assert (update.position, update.at) == (entry, AT)


async def test_a_reconnect_resumes_after_its_last_entry_and_then_follows_live(bed: Bed) -> None:
    async with following(bed) as feed:
        first = await feed.subscribe(["A"], after=None)
        [seen, *_] = await publish(bed, changed("A", 1), changed("B", 5), changed("A", 2))
        await updates(first, 2)
        first.close()
        [latest] = await publish(bed, changed("A", 3))
        await until(lambda: feed.position == latest)

        again = await feed.subscribe(["A"], after=seen)
        await publish(bed, changed("A", 4))

        assert again.resumed
        assert await updates(again, 3) == [("A", 2), ("A", 3), ("A", 4)]
        assert await again.next(within=0.2) is None  # nothing twice


async def test_a_position_trimmed_from_the_stream_gets_a_snapshot_instead(bed: Bed) -> None:
    async with following(bed) as feed:
        old, _, newest = await publish(bed, changed("A", 1), changed("A", 2), changed("A", 3))
        await bed.redis.xtrim(bed.streams.events, minid=newest, approximate=False)
        await until(lambda: feed.position == newest)

        trimmed = await feed.subscribe(["A"], after=old)
        current = await feed.subscribe(["A"], after=newest)

    assert not trimmed.resumed
    assert current.resumed


@pytest.mark.parametrize("after", ["garbage", "9999999999999-0", "abc:1"])
async def test_a_position_not_from_this_stream_gets_a_snapshot(bed: Bed, after: str) -> None:
    async with following(bed) as feed:
        await publish(bed, changed("A", 1))

        subscription = await feed.subscribe(["A"], after=after)

    assert not subscription.resumed


async def test_a_backlog_too_long_to_scan_gets_a_snapshot(bed: Bed) -> None:
    async with following(bed, max_replay=5, batch=2) as feed:
        [first, *_, last] = await publish(bed, *(changed("B", n) for n in range(10)))
        await until(lambda: feed.position == last)

        subscription = await feed.subscribe(["A"], after=first)

    assert not subscription.resumed


async def test_a_feed_that_has_not_reached_redis_yet_answers_busy(bed: Bed) -> None:
    feed = RedisStockFeed(bed.redis, bed.streams)

    with pytest.raises(Busy):
        await feed.subscribe(["A"], after=None)


async def test_stopping_the_feed_ends_its_streams(bed: Bed) -> None:
    async with following(bed) as feed:
        subscription = await feed.subscribe(["A"], after=None)

    assert subscription.ended


async def test_a_stream_that_lost_its_newest_entries_is_followed_from_where_it_ends_now() -> None:
    """What a failover to a replica that missed the last writes (or an older snapshot) looks
    like to a reader: the stream ends below what it read last. It follows on from there; what
    the stream still holds it has had, and replaying it would hand every subscription the
    whole retained stream again. One server: the reader's connection is cut by name."""
    async with bed_on(require_redis()) as bed:
        name = f"stock-feed-{secrets.token_hex(4)}"
        # No retry of its own: the cut must reach the feed, as a dead node's does.
        reader = Redis.from_url(
            bed.url, decode_responses=True, client_name=name, retry=Retry(NoBackoff(), 0)
        )
        feed = RedisStockFeed(reader, bed.streams, block_ms=50)
        await feed.start()
        try:
            await until(lambda: feed.position is not None)
            subscription = await feed.subscribe(["A"], after=None)
            _, kept, lost = await publish(bed, changed("A", 1), changed("A", 2), changed("A", 3))
            assert await updates(subscription, 3) == [("A", 1), ("A", 2), ("A", 3)]
            await bed.redis.xdel(bed.streams.events, lost)  # the promoted replica never had it
            for client in await bed.redis.client_list():
                if client.get("name") == name:
                    await bed.redis.client_kill_filter(_id=client["id"])
            await until(lambda: feed.position == kept)

            await publish(bed, changed("A", 4))

            assert await updates(subscription, 1) == [("A", 4)]
            assert await subscription.next(within=0.3) is None  # nothing from before again
        finally:
            await feed.stop()
            await reader.aclose()
