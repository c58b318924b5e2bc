"""A relay and consumer groups moving events in the test's own process, as a worker would: for
the tests that break Redis under them (a restart, a cluster's failover) and then count what
each group handled (one processed-event record per event a group handled to the end)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select

from adapters.db.dead_letters import SqlDeadLetters
from adapters.db.outbox import SqlOutboxSource
from adapters.db.tables import processed_events
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.connection import RedisClient
from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from adapters.messaging.streams import EventStreams, RedisStreamPublisher
from shopcore.application.groups import GroupDelivery
from tests.support.messaging import Database


@asynccontextmanager
async def moving_events(
    database: Database,
    streams: EventStreams,
    groups: Sequence[GroupDelivery],
    *,
    relay_redis: RedisClient,
    worker_redis: RedisClient,
    max_deliveries: int,
) -> AsyncIterator[OutboxRelay]:
    """A relay and, per group, two consumers, until the block ends."""
    relay = OutboxRelay(
        SqlOutboxSource(database.engine, lambda: datetime.now(UTC)),
        RedisStreamPublisher(relay_redis, streams, groups=[group.name for group in groups]),
        poll_interval=0.02,
        max_backoff=0.2,
        settle_interval=0.1,
    )
    consumers = [
        StreamConsumer(
            worker_redis,
            streams,
            ConsumerSettings(
                group=group.name,
                consumer=f"{group.name}-{n}",
                concurrency=2,
                block_ms=50,
                claim_idle_ms=300,
                max_deliveries=max_deliveries,
            ),
            group.deliver,
            dead_letters=SqlDeadLetters(database.engine),
        )
        for group in groups
        for n in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(part.run(stop)) for part in (relay, *consumers)]
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)


async def handled(database: Database) -> dict[str, int]:
    """Processed-event records per group."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(processed_events.c.handler, func.count()).group_by(processed_events.c.handler)
        )
    return {handler.split(".")[0]: count for handler, count in rows}
