"""Processes die; events do not get lost or applied twice.

Real processes on the machine's PostgreSQL and Redis (tests/system/processes.py):
- a consumer SIGKILLed in the middle of an event: another consumer reclaims it, and its effect
  happens exactly once;
- a relay SIGKILLed between publishing and marking: the events are published again, and each
  is handled once;
- a consumer sent SIGTERM under load: it finishes what it has read, and between it and the
  consumer after it every event is handled, none twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from adapters.db.outbox import SqlOutboxSource
from adapters.db.tables import processed_events
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from adapters.messaging.streams import RedisStreamPublisher
from shopcore.application.groups import GroupDelivery
from shopcore.catalog.events import ProductCreated
from shopcore.shared.messages import Event
from tests.messaging.helpers import pending, publish, running, until
from tests.support.effects import on_hand, product_created, receive_one_each
from tests.support.messaging import Bed, Database

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def expect(self, prefix: str, within: float = 15.0) -> str:
        """The next line starting with `prefix` (earlier lines are kept in `lines`)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"the process ended before {prefix!r}: {self.lines}")
                line = raw.decode().strip()
                self.lines.append(line)
                if line.startswith(prefix):
                    return line

    async def rest(self) -> None:
        assert self.process.stdout is not None
        self.lines += (await self.process.stdout.read()).decode().splitlines()

    def done(self) -> list[str]:
        return [line.split()[1] for line in self.lines if line.startswith("DONE ")]


@asynccontextmanager
async def child(role: str, postgres: Database, bed: Bed, *args: str) -> AsyncIterator[Child]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.system.processes",
        role,
        "--db",
        postgres.url,
        "--redis",
        bed.url,
        "--stream",
        bed.streams.events,
        *args,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        yield Child(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def stock_group(postgres: Database) -> GroupDelivery:
    return GroupDelivery("stock", {ProductCreated: [receive_one_each]}, postgres.uow)


def consumer(bed: Bed, group: GroupDelivery, name: str) -> StreamConsumer:
    return StreamConsumer(
        bed.redis,
        bed.streams,
        ConsumerSettings(group="stock", consumer=name, block_ms=50, claim_idle_ms=300),
        group.deliver,
        handles={"ProductCreated"},
    )


async def processed_count(postgres: Database) -> int:
    async with postgres.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(processed_events)) or 0)


def skus_of(events: list[ProductCreated]) -> list[str]:
    return [sku for event in events for sku in event.skus]


async def test_a_consumer_killed_mid_event_is_relieved_and_the_effect_happens_once(
    postgres: Database, bed: Bed
) -> None:
    stuck = product_created("HANG-1")
    others = [product_created() for _ in range(4)]
    await publish(bed, others[0], stuck, *others[1:])

    async with child("consume", postgres, bed, "--hang-on", "HANG-1", "--consumer", "a") as a:
        line = await a.expect("HANGING")
        assert line == f"HANGING {stuck.event_id}"  # inside its transaction, after its write
        a.process.send_signal(signal.SIGKILL)
        await a.process.wait()
        await a.rest()

    handled: list[Event] = []
    group = stock_group(postgres)

    async def deliver(event: Event) -> None:
        await group.deliver(event)
        handled.append(event)

    b = StreamConsumer(
        bed.redis,
        bed.streams,
        ConsumerSettings(group="stock", consumer="b", block_ms=50, claim_idle_ms=300),
        deliver,
        handles={"ProductCreated"},
    )
    async with running(b):
        await until(lambda: stuck in handled)
        await until(lambda: b.acknowledged + len(a.done()) >= 5)

    everything = [stuck, *others]
    assert await on_hand(postgres.uow, skus_of(everything)) == dict.fromkeys(skus_of(everything), 1)
    assert await processed_count(postgres) == 5
    assert await pending(bed, "stock") == 0


async def test_a_relay_killed_between_publishing_and_marking_publishes_again_and_each_event_is_handled_once(  # noqa: E501
    postgres: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(3)]
    async with postgres.uow() as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()
    source = SqlOutboxSource(postgres.engine, lambda: datetime.now(UTC))

    async with child("relay", postgres, bed) as relay_process:
        assert await relay_process.expect("PUBLISHED") == "PUBLISHED 3"
        assert await bed.redis.xlen(bed.streams.events) == 3
        relay_process.process.send_signal(signal.SIGKILL)
        await relay_process.process.wait()

    assert await source.unpublished_count() == 3  # the marks died with the relay
    relay = OutboxRelay(source, RedisStreamPublisher(bed.redis, bed.streams))
    for _ in range(100):  # until the server has noticed the dead connection and its lock
        if await relay.relay_once():
            break
        await asyncio.sleep(0.05)
    assert await source.unpublished_count() == 0
    assert await bed.redis.xlen(bed.streams.events) == 6  # every event twice

    b = consumer(bed, stock_group(postgres), "b")
    async with running(b):
        await until(lambda: b.acknowledged == 6)

    assert await on_hand(postgres.uow, skus_of(events)) == dict.fromkeys(skus_of(events), 1)
    assert await processed_count(postgres) == 3


async def test_sigterm_under_load_loses_no_event_and_handles_none_twice(
    postgres: Database, bed: Bed
) -> None:
    events = [product_created() for _ in range(80)]
    args = ("--consumer", "a", "--concurrency", "4", "--delay-ms", "25")

    async with child("consume", postgres, bed, *args) as a:
        await a.expect("READY")
        await publish(bed, *events)
        for _ in range(10):
            await a.expect("DONE")
        a.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await a.process.wait()
        await a.rest()
    assert code == 0
    assert a.lines[-1] == "STOPPED"
    by_a = a.done()
    assert 10 <= len(by_a) < len(events)  # stopped part-way
    # It finished everything it had read: nothing of its is left for anyone to reclaim.
    consumers = await bed.redis.xinfo_consumers(bed.streams.events, "stock")
    assert [c["pending"] for c in consumers if c["name"] == "a"] == [0]

    handled_by_b: list[str] = []
    group = stock_group(postgres)

    async def deliver(event: Event) -> None:
        await group.deliver(event)
        handled_by_b.append(event.event_id)

    b = StreamConsumer(
        bed.redis,
        bed.streams,
        ConsumerSettings(group="stock", consumer="b", block_ms=50, claim_idle_ms=300),
        deliver,
        handles={"ProductCreated"},
    )
    async with running(b):
        await until(lambda: len(by_a) + len(handled_by_b) >= len(events))

    assert set(by_a).isdisjoint(handled_by_b)
    assert sorted(by_a + handled_by_b) == sorted(event.event_id for event in events)
    skus = skus_of(events)
    assert await on_hand(postgres.uow, skus) == dict.fromkeys(skus, 1)
    assert await processed_count(postgres) == len(events)
    assert await pending(bed, "stock") == 0
