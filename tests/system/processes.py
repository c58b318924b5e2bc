"""Real processes for the crash tests: `python -m tests.system.processes consume|relay ...`.

`consume` runs one stream consumer whose handler receives stock (tests/support/effects.py) in
its unit of work, with the processed-event record. `--hang-on SKU` makes it stop, forever,
inside the transaction of an event for that SKU (after its write, before its commit): the
moment to SIGKILL it. `--delay-ms` makes every handler take that long (load for SIGTERM).

`relay` runs one relay pass that publishes and then stops, forever, before marking: the moment
to SIGKILL a relay.

Both report on stdout, one line per fact: READY, HANGING <event_id>, DONE <event_id>,
PUBLISHED <count>.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.db.engine import create_engine
from adapters.db.outbox import SqlOutboxSource
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.outbox import OutboxEntry
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.connection import connect
from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from adapters.messaging.streams import EventStreams, RedisStreamPublisher
from shopcore.application.groups import GroupDelivery
from shopcore.catalog.events import ProductCreated
from shopcore.inventory.model import DEFAULT_LOCATION, MovementKind, StockMovement

FOREVER = 3600.0


def say(*words: object) -> None:
    print(*words, flush=True)


def stock_group(engine: Any, hang_on: str | None, delay: float) -> GroupDelivery:
    # Named as the in-test handler is: the processed record is keyed by group and handler name,
    # so the consumers in and out of the test process recognise each other's work.
    async def receive_one_each(event: ProductCreated, uow: Any) -> None:
        async with uow:
            for sku in event.skus:
                await uow.stock.receive(
                    StockMovement(
                        sku=sku,
                        location=DEFAULT_LOCATION,
                        kind=MovementKind.RECEIVED,
                        delta=1,
                        reason=f"event {event.event_id}",
                        at=datetime.now(UTC),
                    )
                )
            if hang_on is not None and hang_on in event.skus:
                say("HANGING", event.event_id)
                await asyncio.sleep(FOREVER)
            if delay:
                await asyncio.sleep(delay)
            await uow.commit()
        say("DONE", event.event_id)

    return GroupDelivery(
        "stock",
        {ProductCreated: [receive_one_each]},
        lambda: SqlUnitOfWork(engine, lambda: datetime.now(UTC)),
    )


async def consume(options: argparse.Namespace) -> None:
    engine = create_engine(options.db, pool_size=options.concurrency + 2)
    redis = connect(options.redis)
    group = stock_group(engine, options.hang_on, options.delay_ms / 1000)
    consumer = StreamConsumer(
        redis,
        EventStreams.named(options.stream),
        ConsumerSettings(
            group="stock",
            consumer=options.consumer,
            concurrency=options.concurrency,
            block_ms=50,
            claim_idle_ms=options.claim_idle_ms,
        ),
        group.deliver,
        handles={"ProductCreated"},
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.ensure_group()
    say("READY")
    try:
        await consumer.run(stop)
    finally:
        await redis.aclose()
        await engine.dispose()
    say("STOPPED")


class PausesBeforeMarking:
    """Publishes for real, then never returns: the relay is stuck between the two steps."""

    def __init__(self, publisher: RedisStreamPublisher) -> None:
        self._publisher = publisher

    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        ids = await self._publisher.publish(entries)
        say("PUBLISHED", len(ids))
        await asyncio.sleep(FOREVER)
        return ids


async def relay(options: argparse.Namespace) -> None:
    engine = create_engine(options.db, pool_size=2)
    redis = connect(options.redis)
    publisher = RedisStreamPublisher(redis, EventStreams.named(options.stream))
    await publisher.open_feed()
    source = SqlOutboxSource(engine, lambda: datetime.now(UTC))
    await OutboxRelay(source, PausesBeforeMarking(publisher)).relay_once()


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["consume", "relay"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--consumer", default="subprocess")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--claim-idle-ms", type=int, default=300)
    parser.add_argument("--hang-on", default=None)
    parser.add_argument("--delay-ms", type=int, default=0)
    options = parser.parse_args(argv)
    asyncio.run(consume(options) if options.role == "consume" else relay(options))


if __name__ == "__main__":
    main(sys.argv[1:])
