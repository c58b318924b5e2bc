"""The outbox relay on the real databases and Redis: committed events reach the stream in
commit order and are marked; a relay that fails between publishing and marking publishes them
again, and the consumer group still applies each event once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from adapters.db.outbox import SqlOutboxSource
from adapters.db.tables import outbox
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.outbox import OutboxClaim, OutboxEntry
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.codec import decode_event
from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from shopcore.application.groups import GroupDelivery
from shopcore.catalog.events import ProductCreated
from shopcore.shared.messages import Event
from tests.messaging.helpers import until
from tests.support.effects import on_hand, product_created, receive_one_each
from tests.support.messaging import Bed, Database, fed_publisher
from tests.support.redis import delete_prefix

pytestmark = pytest.mark.redis


async def commit(database: Database, *events: Event) -> None:
    async with database.uow() as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()


async def stream_events(bed: Bed) -> list[Event]:
    entries = await bed.redis.xrange(bed.streams.events)
    return [decode_event(fields) for _, fields in entries]  # type: ignore[arg-type]


def source_of(database: Database) -> SqlOutboxSource:
    return SqlOutboxSource(database.engine, now=lambda: datetime.now(UTC))


async def test_the_relay_publishes_committed_events_in_order_and_marks_them(
    database: Database, bed: Bed
) -> None:
    first = [product_created() for _ in range(3)]
    second = [product_created() for _ in range(2)]
    await commit(database, *first)
    await commit(database, *second)
    source = source_of(database)
    relay = OutboxRelay(source, await fed_publisher(bed), batch_size=4)

    assert [await relay.relay_once() for _ in range(3)] == [4, 1, 0]

    assert await stream_events(bed) == [*first, *second]
    assert await source.unpublished_count() == 0
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.published_at, outbox.c.attempts))).all()
    assert all(row.published_at is not None and row.attempts == 1 for row in rows)


@pytest.mark.postgres
async def test_concurrent_relays_publish_each_event_once_in_order(
    postgres: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(60)]
    for start in range(0, 60, 6):
        await commit(postgres, *events[start : start + 6])
    relays = [
        OutboxRelay(source_of(postgres), await fed_publisher(bed), batch_size=5) for _ in range(4)
    ]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(200):
            await relay.relay_once()
            await asyncio.sleep(0)  # let the other relays try for the lock
            if await source_of(postgres).unpublished_count() == 0:
                return

    await asyncio.gather(*(drain(relay) for relay in relays))

    assert await stream_events(bed) == events
    assert sum(relay.published for relay in relays) == 60


class MarkFails:
    """A source whose claims publish fine and then lose the database before marking: what a
    relay killed between the two steps leaves behind."""

    def __init__(self, source: SqlOutboxSource) -> None:
        self._source = source

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[OutboxClaim]:
        async with self._source.claim(limit) as claim:
            yield _Broken(claim.entries)

    async def record_failure(self, ids: Sequence[int]) -> None:
        await self._source.record_failure(ids)

    async def confirm(self, ids: Sequence[int]) -> None:
        await self._source.confirm(ids)

    async def rewind(self) -> int:
        return await self._source.rewind()

    async def fed_position(self) -> str | None:
        return await self._source.fed_position()

    async def prune(self, confirmed_before: timedelta) -> int:
        return 0


class _Broken:
    def __init__(self, entries: Sequence[OutboxEntry]) -> None:
        self.entries = entries

    async def mark_published(self, ids: Sequence[int], position: str) -> None:
        raise ConnectionResetError("the relay died before marking")


async def test_a_relay_failing_to_mark_publishes_again_and_the_event_is_handled_once(
    database: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(3)]
    await commit(database, *events)
    publisher = await fed_publisher(bed)

    with pytest.raises(ConnectionResetError):
        await OutboxRelay(MarkFails(source_of(database)), publisher).relay_once()
    assert await source_of(database).unpublished_count() == 3
    assert await OutboxRelay(source_of(database), publisher).relay_once() == 3
    assert await stream_events(bed) == events + events  # published twice

    group = GroupDelivery("stock", {ProductCreated: [receive_one_each]}, database.uow)
    consumer = StreamConsumer(
        bed.redis,
        bed.streams,
        # Both copies may be handled at once: the loser's commit fails on the processed
        # record, and its copy is reclaimed after the idle time and then skipped.
        ConsumerSettings(group="stock", block_ms=50, claim_idle_ms=300),
        group.deliver,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    await until(lambda: consumer.acknowledged == 6)
    stop.set()
    await running

    skus = [event.skus[0] for event in events]
    assert await on_hand(database.uow, skus) == dict.fromkeys(skus, 1)


async def test_pruning_deletes_only_entries_confirmed_long_ago(
    database: Database, bed: Bed
) -> None:
    await commit(database, product_created(), product_created(), product_created())
    source = source_of(database)
    relay = OutboxRelay(source, await fed_publisher(bed), batch_size=2)
    await relay.relay_once()  # two published
    async with database.engine.connect() as connection:
        ids = sorted((await connection.execute(select(outbox.c.id))).scalars())
    await source.confirm(ids[:1])
    long_ago = datetime.now(UTC) - timedelta(days=30)
    async with database.engine.begin() as connection:
        for column in (outbox.c.published_at, outbox.c.confirmed_at):
            await connection.execute(
                update(outbox).where(column.is_not(None)).values({column: long_ago})
            )

    assert await source.prune(timedelta(days=7)) == 1  # not the published, unconfirmed one
    async with database.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(outbox)) == 2


async def test_settling_confirms_the_entries_every_group_acknowledged_and_only_those(
    database: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(5)]
    await commit(database, *events)
    source = source_of(database)
    relay = OutboxRelay(source, await fed_publisher(bed, groups=["a", "b"]))
    await relay.relay_once()
    await ack_first(bed, "a", 5)
    await ack_first(bed, "b", 3)

    assert await relay.settle() == 3
    assert await relay.settle() == 0
    await ack_first(bed, "b", 2)
    assert await relay.settle() == 2

    assert await confirmed(database) == [event.event_id for event in events]


async def test_redis_restarted_empty_gets_every_unconfirmed_event_again_before_new_ones(
    database: Database, bed: Bed
) -> None:
    before = [product_created() for _ in range(4)]
    await commit(database, *before)
    source = source_of(database)
    relay = OutboxRelay(source, await fed_publisher(bed, groups=["a"]))
    await relay.relay_once()
    await ack_first(bed, "a", 2)
    await relay.settle()
    await delete_prefix(bed.redis, bed.prefix)  # what a Redis restarted empty holds
    after = product_created()
    await commit(database, after)

    assert await relay.relay_once() == 0  # the stream refuses: the relay rewinds
    assert relay.rewound == 2
    assert await relay.relay_once() == 3

    assert await stream_events(bed) == [*before[2:], after]
    groups = await bed.redis.xinfo_groups(bed.streams.events)
    assert [group["name"] for group in groups] == ["a"]  # there before the first entry


async def test_redis_back_with_an_older_copy_of_its_data_gets_the_lost_entries_again(
    database: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(3)]
    await commit(database, events[0])
    relay = OutboxRelay(source_of(database), await fed_publisher(bed, groups=["a"]))
    await relay.relay_once()
    snapshot = await bed.redis.xrange(bed.streams.events)  # what an RDB snapshot keeps
    await commit(database, *events[1:])
    await relay.relay_once()
    # Redis restarts from that snapshot: marked as fed, but without the later entries.
    await bed.redis.delete(bed.streams.events)
    for entry_id, fields in snapshot:
        await bed.redis.xadd(bed.streams.events, fields, id=entry_id)  # type: ignore[arg-type]
    await bed.redis.xgroup_create(bed.streams.events, "a", id="0")

    assert await relay.settle() == 0  # the stream ends before what the outbox published
    assert relay.rewound == 3  # no group had acknowledged any of them
    assert await relay.relay_once() == 3

    assert await stream_events(bed) == [events[0], *events]


async def test_an_append_to_an_older_copy_of_the_stream_is_refused_before_any_settle(
    database: Database, bed: Bed
) -> None:
    """A relay publishes before it settles; an append would move the stream's end past the
    lost entries and hide the loss from the settle after it, so the append itself refuses."""
    events = [product_created() for _ in range(3)]
    await commit(database, events[0])
    relay = OutboxRelay(source_of(database), await fed_publisher(bed, groups=["a"]))
    await relay.relay_once()
    snapshot = await bed.redis.xrange(bed.streams.events)
    await commit(database, *events[1:])
    await relay.relay_once()
    await bed.redis.delete(bed.streams.events)
    for entry_id, fields in snapshot:
        await bed.redis.xadd(bed.streams.events, fields, id=entry_id)  # type: ignore[arg-type]
    await bed.redis.xgroup_create(bed.streams.events, "a", id="0")
    late = product_created()
    await commit(database, late)

    assert await relay.relay_once() == 0  # refused: the relay rewinds instead
    assert relay.rewound == 3
    assert await relay.relay_once() == 4

    assert await stream_events(bed) == [events[0], *events, late]


async def ack_first(bed: Bed, group: str, count: int) -> None:
    reply = await bed.redis.xreadgroup(group, "c", {bed.streams.events: ">"}, count=count)
    await bed.redis.xack(
        bed.streams.events,
        group,
        *(entry_id for _, entries in reply for entry_id, _ in entries),  # type: ignore[union-attr]
    )


async def confirmed(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.event_id)
            .where(outbox.c.confirmed_at.is_not(None))
            .order_by(outbox.c.id)
        )
    return list(rows.scalars())


async def test_entries_with_and_without_a_trace_context_publish_in_one_batch(
    database: Database, bed: Bed
) -> None:
    traced, plain = product_created(), product_created()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    context = {"traceparent": traceparent, "tracestate": "shop=1"}
    # Tracing on, inside a span: the unit of work keeps its context with the row.
    traced_uow = SqlUnitOfWork(
        database.engine, now=lambda: datetime.now(UTC), trace=lambda: context
    )
    async with traced_uow as uow:
        uow.emit(traced)
        await uow.commit()
    await commit(database, plain)  # tracing off: no trace fields
    relay = OutboxRelay(source_of(database), await fed_publisher(bed))

    assert await relay.relay_once() == 2

    entries = [fields for _, fields in await bed.redis.xrange(bed.streams.events)]
    assert [decode_event(fields) for fields in entries] == [traced, plain]  # type: ignore[arg-type]
    assert (entries[0]["traceparent"], entries[0]["tracestate"]) == (traceparent, "shop=1")  # type: ignore[index]
    assert "traceparent" not in entries[1] and "tracestate" not in entries[1]  # type: ignore[operator]
