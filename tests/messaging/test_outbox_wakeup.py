"""The relay is woken by the commit itself on PostgreSQL: the outbox trigger's NOTIFY reaches
the listener, which wakes the relay long before its poll would. The listener outlives its
connection, and never fails, however often the database goes away."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from adapters.db.outbox import SqlOutboxSource, write_outbox
from adapters.db.outbox_wakeup import OutboxWakeup, asyncpg_connect_args
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.codec import decode_event
from adapters.messaging.streams import RedisStreamPublisher
from shopcore.shared.messages import Event
from tests.messaging.helpers import until
from tests.support.effects import product_created
from tests.support.messaging import Bed, Database
from tests.support.waiting import PATIENCE

A_MINUTE = 60.0  # the relays here poll this rarely: only a notification explains a quick publish


async def commit(database: Database, *events: Event) -> None:
    async with database.uow() as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()


def relay_of(database: Database, bed: Bed) -> OutboxRelay:
    source = SqlOutboxSource(database.engine, now=lambda: datetime.now(UTC))
    return OutboxRelay(source, RedisStreamPublisher(bed.redis, bed.streams), poll_interval=A_MINUTE)


@asynccontextmanager
async def listening(database: Database, wake: Callable[[], None]) -> AsyncIterator[OutboxWakeup]:
    wakeup = OutboxWakeup.for_url(database.url, wake, min_backoff=0.05, max_backoff=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(wakeup.run(stop))
    try:
        await until(lambda: wakeup.backend_pid is not None)
        yield wakeup
    finally:
        stop.set()
        await task


@asynccontextmanager
async def relaying(relay: OutboxRelay) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        relay.wake()
        await task


async def stream_events(bed: Bed) -> list[Event]:
    entries = await bed.redis.xrange(bed.streams.events)
    return [decode_event(fields) for _, fields in entries]  # type: ignore[arg-type]


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_commit_wakes_a_relay_that_would_otherwise_sleep_for_a_minute(
    postgres: Database, bed: Bed
) -> None:
    relay = relay_of(postgres, bed)
    earlier = product_created()
    await commit(postgres, earlier)  # before anyone listens: the relay's first pass takes it
    async with listening(postgres, relay.wake), relaying(relay):
        await until(lambda: relay.published == 1)  # that first pass is over; now it sleeps
        later = product_created()
        await commit(postgres, later)
        await until(lambda: relay.published == 2)

    assert await stream_events(bed) == [earlier, later]


@pytest.mark.redis
@pytest.mark.postgres
async def test_the_listener_reconnects_when_its_connection_is_killed_and_wakes_the_relay_again(
    postgres: Database, bed: Bed
) -> None:
    relay = relay_of(postgres, bed)
    async with listening(postgres, relay.wake) as wakeup, relaying(relay):
        killed = wakeup.backend_pid
        async with postgres.engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        await until(lambda: wakeup.connections == 2 and wakeup.backend_pid is not None)
        assert wakeup.backend_pid != killed
        heard = wakeup.notifications

        event = product_created()
        await commit(postgres, event)
        await until(lambda: wakeup.notifications > heard and relay.published == 1)

    assert await stream_events(bed) == [event]


@pytest.mark.postgres
async def test_each_commit_that_wrote_outbox_rows_notifies_once_and_a_rollback_never(
    postgres: Database,
) -> None:
    async def write(*batches: int, keep: bool) -> None:
        async with postgres.engine.connect() as connection:
            for size in batches:  # a statement per batch
                events = [product_created() for _ in range(size)]
                await write_outbox(connection, events, datetime.now(UTC))
            await (connection.commit() if keep else connection.rollback())

    async with listening(postgres, lambda: None) as wakeup:
        await write(1, keep=False)
        await write(3, 1, 2, keep=True)
        await write(1, keep=True)
        # Notifications arrive in commit order: once the last commit's has come, any the
        # rollback or the repeated statements might have sent would have come before it.
        await until(lambda: wakeup.notifications >= 2)
        assert wakeup.notifications == 2


async def test_the_listener_keeps_trying_an_unreachable_database_and_stops_when_told() -> None:
    attempts = 0

    async def refused() -> object:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError("nobody listens on that port")

    wakeup = OutboxWakeup(refused, lambda: None, min_backoff=0.001, max_backoff=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(wakeup.run(stop))
    await until(lambda: attempts >= 3)
    stop.set()
    await task  # returns, never raises: the relay beside it goes on polling

    assert wakeup.connections == 0 and wakeup.backend_pid is None


async def test_the_listener_stops_whenever_it_is_told_even_between_two_refusals() -> None:
    """A stop that lands as a refused connect returns must still stop it: on Python 3.11
    asyncio.wait_for swallowed such a cancellation, and the listener ran on for good."""

    ran_on = False

    async def refused() -> object:
        if ran_on:  # end a listener that ignored its stop, so the failure does not hang
            raise asyncio.CancelledError
        raise ConnectionRefusedError("nobody listens on that port")

    for _ in range(300):
        wakeup = OutboxWakeup(refused, lambda: None, min_backoff=0.00001, max_backoff=0.00002)
        stop = asyncio.Event()
        task = asyncio.create_task(wakeup.run(stop))
        await asyncio.sleep(random.uniform(0, 0.001))
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=PATIENCE)  # does not cancel it
        if not done:
            ran_on = True
            raise AssertionError("the listener ran on after it was told to stop")


def test_the_listener_connects_where_the_engine_does() -> None:
    arguments = asyncpg_connect_args("postgresql+asyncpg://shop:s3cret@db.internal:6432/shop")
    assert arguments == {
        "host": "db.internal",
        "port": 6432,
        "user": "shop",
        "password": "s3cret",
        "database": "shop",
    }
