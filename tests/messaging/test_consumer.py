"""A consumer group on Redis: entries are acknowledged only after their handlers returned,
reclaimed from consumers that stopped answering, dead-lettered after 5 failed deliveries, and
a stop lets the entries in flight finish."""

from __future__ import annotations

import asyncio

import pytest

from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from shopcore.catalog.events import ProductArchived, ProductCreated
from shopcore.shared.messages import Event
from tests.messaging.helpers import eventually, pending, publish, running, until
from tests.support.effects import product_created
from tests.support.messaging import Bed

pytestmark = pytest.mark.redis

FAST = {"block_ms": 50, "claim_idle_ms": 150}


def consumer(bed: Bed, deliver: object, **options: object) -> StreamConsumer:
    settings = ConsumerSettings(**{"group": "g", **FAST, **options})  # type: ignore[arg-type]
    return StreamConsumer(bed.redis, bed.streams, settings, deliver, handles={"ProductCreated"})  # type: ignore[arg-type]


async def test_an_entry_is_acknowledged_only_after_its_handler_returned(bed: Bed) -> None:
    release = asyncio.Event()
    handled: list[Event] = []

    async def deliver(event: Event) -> None:
        await release.wait()
        handled.append(event)

    async def has_pending(count: int) -> bool:
        return await pending(bed, "g") == count

    event = product_created()
    async with running(consumer(bed, deliver)):
        await publish(bed, event)
        await eventually(lambda: has_pending(1))  # read, and running
        await asyncio.sleep(0.1)
        assert await pending(bed, "g") == 1  # still unacknowledged while the handler runs
        release.set()
        await eventually(lambda: has_pending(0))
        assert handled == [event]


async def test_entries_the_group_has_no_handler_for_are_acknowledged_unread(bed: Bed) -> None:
    handled: list[Event] = []

    async def deliver(event: Event) -> None:
        handled.append(event)

    wanted = product_created()
    other = ProductArchived(product_id="p", skus=("A",))
    the_consumer = consumer(bed, deliver)
    async with running(the_consumer):
        await publish(bed, other, wanted)
        await until(lambda: the_consumer.acknowledged == 2)

    assert handled == [wanted]
    assert (the_consumer.handled, the_consumer.failed) == (1, 0)  # the skipped one is neither


async def test_a_poison_entry_is_dead_lettered_after_five_deliveries_while_the_rest_flow(
    bed: Bed,
) -> None:
    poison = product_created("POISON")
    healthy = [product_created() for _ in range(5)]
    attempts: list[str] = []
    handled: list[Event] = []

    async def deliver(event: Event) -> None:
        assert isinstance(event, ProductCreated)
        if event.skus == ("POISON",):
            attempts.append(event.event_id)
            raise ValueError("cannot handle SKU POISON")
        handled.append(event)

    the_consumer = consumer(bed, deliver)
    async with running(the_consumer):
        await publish(bed, healthy[0], healthy[1], poison, *healthy[2:])
        await until(lambda: the_consumer.dead_lettered == 1)

    assert handled == healthy  # not held up behind the poison entry
    assert attempts == [poison.event_id] * 5
    # What the worker's /metrics counts: each failed delivery, the letter, the rest handled.
    assert (the_consumer.handled, the_consumer.failed) == (5, 5)
    assert await pending(bed, "g") == 0
    letters = await bed.redis.xrange(bed.streams.dead)
    assert len(letters) == 1
    letter = letters[0][1]
    assert letter["event_id"] == poison.event_id
    assert letter["group"] == "g"
    assert letter["deliveries"] == "5"
    assert letter["error"] == "ValueError: cannot handle SKU POISON"
    assert "cannot handle SKU POISON" in letter["traceback"]


async def test_an_undecodable_entry_is_dead_lettered_at_once(bed: Bed) -> None:
    async def deliver(event: Event) -> None:
        raise AssertionError("never called")

    the_consumer = consumer(bed, deliver)
    async with running(the_consumer):
        await bed.redis.xadd(
            bed.streams.events, {"event_id": "x", "type": "ProductCreated", "payload": "{oops"}
        )
        await until(lambda: the_consumer.dead_lettered == 1)

    ((_, letter),) = await bed.redis.xrange(bed.streams.dead)
    assert letter["deliveries"] == "1" and "not a known event" in letter["error"]


async def test_an_entry_left_by_a_silent_consumer_is_reclaimed_by_another(bed: Bed) -> None:
    event = product_created()
    handled: list[tuple[Event, str]] = []

    async def deliver(event: Event) -> None:
        handled.append((event, "b"))

    b = consumer(bed, deliver, consumer="b")
    await b.ensure_group()
    await publish(bed, event)
    # Consumer "a" reads the entry and is never heard of again (killed).
    await bed.redis.xreadgroup("g", "a", {bed.streams.events: ">"}, count=1)
    assert await pending(bed, "g") == 1

    async with running(b):
        await until(lambda: b.acknowledged == 1)

    assert handled == [(event, "b")]
    assert await pending(bed, "g") == 0


async def test_an_entry_whose_consumers_keep_dying_is_dead_lettered(bed: Bed) -> None:
    event = product_created()

    async def deliver(event: Event) -> None:
        raise AssertionError("a sixth delivery is not attempted")

    b = consumer(bed, deliver, consumer="b")
    await b.ensure_group()
    await publish(bed, event)
    # Five consumers take it in turn and die without acknowledging.
    await bed.redis.xreadgroup("g", "dead-0", {bed.streams.events: ">"}, count=1)
    for n in range(1, 5):
        await asyncio.sleep(0.01)
        await bed.redis.xautoclaim(bed.streams.events, "g", f"dead-{n}", 0, "0-0", count=1)

    async with running(b):
        await until(lambda: b.dead_lettered == 1)

    ((_, letter),) = await bed.redis.xrange(bed.streams.dead)
    assert letter["deliveries"] == "6"
    assert "died or stalled" in letter["error"]


async def test_stopping_finishes_the_entries_in_flight_first(bed: Bed) -> None:
    started = asyncio.Event()
    finished: list[Event] = []

    async def deliver(event: Event) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(event)

    events = [product_created() for _ in range(3)]
    the_consumer = consumer(bed, deliver, concurrency=3)
    async with running(the_consumer) as stop:
        await publish(bed, *events)
        await started.wait()
        await asyncio.sleep(0.05)
        stop.set()  # while all three are running

    assert sorted(e.event_id for e in finished) == sorted(e.event_id for e in events)
    assert await pending(bed, "g") == 0


async def test_no_more_entries_are_in_flight_than_the_concurrency(bed: Bed) -> None:
    now_running = 0
    most = 0

    async def deliver(event: Event) -> None:
        nonlocal now_running, most
        now_running += 1
        most = max(most, now_running)
        await asyncio.sleep(0.02)
        now_running -= 1

    the_consumer = consumer(bed, deliver, concurrency=3)
    async with running(the_consumer):
        await publish(bed, *(product_created() for _ in range(20)))
        await until(lambda: the_consumer.acknowledged == 20)

    assert most == 3


def test_a_consumer_needs_a_slot(bed: Bed) -> None:
    with pytest.raises(ValueError):
        consumer(bed, None, concurrency=0)
