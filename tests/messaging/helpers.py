"""Running consumers for the messaging suites (and `until`/`eventually` from
tests/support/waiting.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.messaging.codec import event_fields
from adapters.messaging.consumer import StreamConsumer
from shopcore.shared.messages import Event
from tests.support.messaging import Bed
from tests.support.waiting import eventually, until

__all__ = ["eventually", "pending", "publish", "running", "until"]


@asynccontextmanager
async def running(*consumers: StreamConsumer) -> AsyncIterator[asyncio.Event]:
    """Consumers running until the block ends; stopping waits for their in-flight entries."""
    stop = asyncio.Event()
    for consumer in consumers:
        await consumer.ensure_group()
    tasks = [asyncio.create_task(consumer.run(stop)) for consumer in consumers]
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


async def publish(bed: Bed, *events: Event) -> list[str]:
    return [
        await bed.redis.xadd(bed.streams.events, event_fields(event))  # type: ignore[arg-type]
        for event in events
    ]


async def pending(bed: Bed, group: str) -> int:
    summary = await bed.redis.xpending(bed.streams.events, group)
    return int(summary["pending"])
