"""The in-process stock feed and the fan-out every feed shares: who receives which change,
resuming after a position, and what happens to a subscriber that cannot keep up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.machinery.stock_fanout import StockSubscription, SubscriptionEnded
from adapters.memory.clock import ManualClock
from adapters.memory.stock_feed import InProcessStockFeed
from shopcore.inventory.events import StockChanged
from tests.support.driver import ShopDriver

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)


def changed(sku: str, available: int, at: datetime | None = AT) -> StockChanged:
    return StockChanged(
        sku=sku, on_hand=available, reserved=0, allocated=0, available=available, reason="t", at=at
    )


async def drain(subscription: StockSubscription) -> list[tuple[str, int]]:
    got = []
    while (update := await subscription.next(within=0.01)) is not None:
        got.append((update.sku, update.available))
    return got


async def test_a_subscription_receives_only_the_changes_of_its_skus() -> None:
    feed = InProcessStockFeed(ManualClock())
    mine = await feed.subscribe(["A", "B"], after=None)
    theirs = await feed.subscribe(["C"], after=None)

    for event in (changed("A", 1), changed("C", 2), changed("B", 3)):
        await feed.on_stock_changed(event)

    assert await drain(mine) == [("A", 1), ("B", 3)]
    assert await drain(theirs) == [("C", 2)]
    assert not mine.resumed


async def test_an_update_carries_the_time_of_the_change_and_its_position() -> None:
    clock = ManualClock(datetime(2030, 5, 1, tzinfo=UTC))
    feed = InProcessStockFeed(clock)
    subscription = await feed.subscribe(["A"], after=None)
    start = subscription.position

    await feed.on_stock_changed(changed("A", 1))
    await feed.on_stock_changed(changed("A", 2, at=None))  # an event from before `at` existed
    first, second = await subscription.next(0.01), await subscription.next(0.01)

    assert first is not None and second is not None
    assert first.at == AT
    assert second.at == clock.now()
    assert len({start, first.position, second.position}) == 3


async def test_no_update_within_the_wait_means_time_for_a_heartbeat() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A"], after=None)

    assert await subscription.next(within=0.01) is None


async def test_an_update_starts_a_new_quiet_period_and_a_shorter_wait_still_ends_in_time() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A"], after=None)

    # An update ends a short wait; the heartbeat due at its end must not cut a later, long
    # wait short, which an update ends instead.
    short = asyncio.create_task(subscription.next(within=0.05))
    await asyncio.sleep(0)
    await feed.on_stock_changed(changed("A", 1))
    assert (await short) is not None
    long = asyncio.create_task(subscription.next(within=60))
    await asyncio.sleep(0.1)  # past where the short wait would have ended
    assert not long.done()
    await feed.on_stock_changed(changed("A", 2))
    update = await long
    assert update is not None and update.available == 2

    # And a short wait after a long one gets its heartbeat when due, not a minute later.
    async with asyncio.timeout(5):
        assert await subscription.next(within=0.01) is None


async def test_resuming_after_a_position_replays_what_came_since_for_its_skus() -> None:
    feed = InProcessStockFeed(ManualClock())
    first = await feed.subscribe(["A"], after=None)
    await feed.on_stock_changed(changed("A", 1))
    seen = await first.next(0.01)
    first.close()
    assert seen is not None
    for event in (changed("B", 9), changed("A", 2), changed("A", 3)):
        await feed.on_stock_changed(event)

    again = await feed.subscribe(["A"], after=seen.position)
    await feed.on_stock_changed(changed("A", 4))

    assert again.resumed
    assert await drain(again) == [("A", 2), ("A", 3), ("A", 4)]


async def test_resuming_at_the_latest_position_replays_nothing() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A"], after=None)

    again = await feed.subscribe(["A"], after=subscription.position)

    assert again.resumed
    assert await drain(again) == []


@pytest.mark.parametrize("after", ["garbage", "00000000:0", "1700000000000-0", ""])
async def test_a_position_from_elsewhere_is_not_resumed(after: str) -> None:
    feed = InProcessStockFeed(ManualClock())
    await feed.on_stock_changed(changed("A", 1))

    subscription = await feed.subscribe(["A"], after=after)

    assert not subscription.resumed


async def test_a_position_older_than_what_the_feed_keeps_is_not_resumed() -> None:
    feed = InProcessStockFeed(ManualClock(), retain=2)
    start = (await feed.subscribe(["A"], after=None)).position
    for available in (1, 2, 3):
        await feed.on_stock_changed(changed("A", available))
    position_after_first = f"{start.split(':')[0]}:1"

    assert not (await feed.subscribe(["A"], after=start)).resumed
    assert (await feed.subscribe(["A"], after=position_after_first)).resumed


async def test_a_position_ahead_of_the_feed_is_not_resumed() -> None:
    feed = InProcessStockFeed(ManualClock())
    run = (await feed.subscribe(["A"], after=None)).position.split(":")[0]

    assert not (await feed.subscribe(["A"], after=f"{run}:5")).resumed


async def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    feed = InProcessStockFeed(ManualClock(), capacity=2)
    slow = await feed.subscribe(["A"], after=None)
    keeping_up = await feed.subscribe(["A"], after=None)

    got = []
    for available in range(1, 6):
        await feed.on_stock_changed(changed("A", available))
        update = await keeping_up.next(0.01)
        assert update is not None
        got.append(update.available)

    # The slow one gets what its queue held, then its stream ends: it reconnects and resumes.
    held = [await slow.next(0.01), await slow.next(0.01)]
    with pytest.raises(SubscriptionEnded):
        await slow.next(0.01)
    assert [update.available for update in held if update is not None] == [1, 2]
    assert got == [1, 2, 3, 4, 5]
    assert feed.fan_out.dropped == 1
    assert feed.fan_out.subscriptions == 1


async def test_stopping_the_feed_ends_every_stream_once_drained() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A"], after=None)
    await feed.on_stock_changed(changed("A", 1))

    await feed.stop()

    assert await subscription.next(0.01) is not None
    with pytest.raises(SubscriptionEnded):
        await subscription.next(1.0)


async def test_a_stopped_feed_wakes_a_stream_that_is_waiting() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A"], after=None)

    waiting = asyncio.create_task(subscription.next(within=10))
    await asyncio.sleep(0.01)
    await feed.stop()

    with pytest.raises(SubscriptionEnded):
        await asyncio.wait_for(waiting, 1)


async def test_a_closed_subscription_is_forgotten() -> None:
    feed = InProcessStockFeed(ManualClock())
    subscription = await feed.subscribe(["A", "B"], after=None)

    subscription.close()
    subscription.close()  # idempotent

    assert feed.fan_out.subscriptions == 0


async def test_stock_changes_carry_when_they_happened(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 3)

    events = [e for e in driver.store.outbox if isinstance(e, StockChanged)]
    assert [e.at for e in events] == [driver.clock.now()]
