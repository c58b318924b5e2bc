"""Trimming keeps the stream bounded but never drops an entry that some group has not
acknowledged: neither one pending (read, unacknowledged) nor one not read yet."""

from __future__ import annotations

import pytest

from adapters.machinery.outbox import OutboxEntry
from adapters.messaging.codec import event_fields
from adapters.messaging.trimming import acknowledged_through, needed_floor, stream_id, trim_stream
from tests.messaging.helpers import publish
from tests.support.effects import product_created
from tests.support.messaging import Bed, fed_publisher

pytestmark = pytest.mark.redis


async def _read(bed: Bed, group: str, count: int) -> list[str]:
    reply = await bed.redis.xreadgroup(group, "c", {bed.streams.events: ">"}, count=count)
    return [entry_id for _, entries in reply for entry_id, _ in entries]  # type: ignore[union-attr]


async def _ids(bed: Bed) -> list[str]:
    return [entry_id for entry_id, _ in await bed.redis.xrange(bed.streams.events)]  # type: ignore[union-attr]


async def test_trimming_stops_at_the_lowest_entry_a_group_has_not_acknowledged(bed: Bed) -> None:
    ids = await publish(bed, *(product_created() for _ in range(20)))
    for group in ("slow", "fast"):
        await bed.redis.xgroup_create(bed.streams.events, group, id="0")
    slow = await _read(bed, "slow", 10)
    await bed.redis.xack(bed.streams.events, "slow", *slow[:5])  # 6th to 10th stay pending
    await bed.redis.xack(bed.streams.events, "fast", *await _read(bed, "fast", 20))

    removed = await trim_stream(bed.redis, bed.streams.events, retain=0, approximate=False)

    assert removed == 5
    assert await _ids(bed) == ids[5:]
    # The pending entries can still be reclaimed, with their fields.
    _, claimed, *_ = await bed.redis.xautoclaim(bed.streams.events, "slow", "other", 0, "0-0")
    assert [entry_id for entry_id, fields in claimed if fields] == ids[5:10]


async def test_a_group_that_has_not_read_yet_holds_the_whole_stream(bed: Bed) -> None:
    ids = await publish(bed, *(product_created() for _ in range(5)))
    await bed.redis.xgroup_create(bed.streams.events, "late", id="0")

    assert await trim_stream(bed.redis, bed.streams.events, retain=0, approximate=False) == 0
    assert await _ids(bed) == ids


async def test_retention_keeps_the_newest_entries_once_every_group_has_them(bed: Bed) -> None:
    ids = await publish(bed, *(product_created() for _ in range(10)))
    await bed.redis.xgroup_create(bed.streams.events, "g", id="0")
    await bed.redis.xack(bed.streams.events, "g", *await _read(bed, "g", 10))

    assert await needed_floor(bed.redis, bed.streams.events) == ids[-1]
    assert await trim_stream(bed.redis, bed.streams.events, retain=3, approximate=False) == 7
    assert await _ids(bed) == ids[-3:]
    assert await trim_stream(bed.redis, bed.streams.events, retain=3, approximate=False) == 0


async def test_without_groups_retention_alone_decides(bed: Bed) -> None:
    ids = await publish(bed, *(product_created() for _ in range(6)))

    await trim_stream(bed.redis, bed.streams.events, retain=2, approximate=False)

    assert await _ids(bed) == ids[-2:]


async def test_every_group_has_acknowledged_up_to_just_below_the_lowest_pending_entry(
    bed: Bed,
) -> None:
    ids = await publish(bed, *(product_created() for _ in range(6)))
    for group in ("slow", "fast"):
        await bed.redis.xgroup_create(bed.streams.events, group, id="0")
    assert await acknowledged_through(bed.redis, bed.streams.events) == "0-0"

    await bed.redis.xack(bed.streams.events, "fast", *await _read(bed, "fast", 6))
    slow = await _read(bed, "slow", 4)
    await bed.redis.xack(bed.streams.events, "slow", slow[0], slow[1], slow[3])  # 3rd pending

    through = await acknowledged_through(bed.redis, bed.streams.events)
    assert through is not None
    assert stream_id(ids[1]) <= stream_id(through) < stream_id(ids[2])
    await bed.redis.xack(bed.streams.events, "slow", slow[2])
    assert await acknowledged_through(bed.redis, bed.streams.events) == ids[3]


async def test_the_publisher_trims_only_what_the_outbox_has_confirmed(bed: Bed) -> None:
    publisher = await fed_publisher(bed, groups=["g"], retain=10, trim_every=50)
    events = [product_created() for _ in range(400)]
    unacknowledged: list[str] = []
    for start in range(0, 400, 50):
        batch = [
            OutboxEntry(
                id=start + n,
                event_id=event.event_id,
                event_type="ProductCreated",
                payload=event_fields(event)["payload"].encode(),
            )
            for n, event in enumerate(events[start : start + 50])
        ]
        await publisher.publish(batch)
        read = await _read(bed, "g", 50)
        if start == 100:
            unacknowledged = read[:3]  # one batch is left pending
            read = read[3:]
        await bed.redis.xack(bed.streams.events, "g", *read)
        await publisher.release(await publisher.acknowledged(None))  # the relay's settle

    remaining = await _ids(bed)
    assert len(remaining) < 400
    assert set(unacknowledged) <= set(remaining)
