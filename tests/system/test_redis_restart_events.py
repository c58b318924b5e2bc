"""Redis SIGKILLed and started again empty while a relay and consumers move events: every
event committed before, during and after the restart is handled exactly once by every consumer
group, and a dead letter written before the restart is still there after it.

A Redis server of the test's own (tests/support/redis_server.py); a relay and two consumer
groups in this process, on SQLite and PostgreSQL; then a real `shopcore worker`. Redis
restarted empty has lost the stream, the groups, their pending entries and acknowledgements:
the relay finds its feed gone, rewinds what no group had acknowledged and publishes it again;
the consumers create their groups again; the processed-event records make every repeat a
no-op.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.db.tables import dead_letters
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.connection import connect
from adapters.messaging.streams import EventStreams
from apps.settings import Settings
from shopcore.application.groups import GroupDelivery
from shopcore.catalog.events import ProductCreated
from tests.support.cli_process import confirmations_sent, shopcore_process, stopped
from tests.support.driver import build_driver
from tests.support.effects import on_hand, product_created, receive_one_each
from tests.support.event_flow import handled
from tests.support.event_flow import moving_events as flowing
from tests.support.messaging import Database
from tests.support.redis_server import RedisServer, private_redis
from tests.support.waiting import eventually, until

pytestmark = pytest.mark.redis

GROUPS = ("stock", "audit")
POISON = "POISON"


async def receive_unless_poison(event: ProductCreated, uow: Any) -> None:
    if POISON in event.skus:
        raise ValueError("this event cannot be handled")
    await receive_one_each(event, uow)


async def note(event: ProductCreated, uow: Any) -> None:
    """Nothing but its processed-event record, and slowly: Redis dies with entries in flight."""
    await asyncio.sleep(0.1)


def groups_of(database: Database) -> list[GroupDelivery]:
    return [
        GroupDelivery("stock", {ProductCreated: [receive_unless_poison]}, database.uow),
        GroupDelivery("audit", {ProductCreated: [note]}, database.uow),
    ]


@asynccontextmanager
async def moving_events(database: Database, server: RedisServer) -> AsyncIterator[OutboxRelay]:
    """A relay and, per group, two consumers, on the private Redis, until the block ends."""
    redis = connect(server.url)
    try:
        async with flowing(
            database,
            EventStreams.named("restart:events"),
            groups_of(database),
            relay_redis=redis,
            worker_redis=redis,
            max_deliveries=3,
        ) as relay:
            yield relay
    finally:
        await redis.aclose()


async def commit(database: Database, *events: ProductCreated) -> None:
    async with database.uow() as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()


async def letters(database: Database) -> list[tuple[str, str]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(select(dead_letters.c.group_name, dead_letters.c.event_id))
    return [(group, event_id) for group, event_id in rows]


async def test_every_event_is_handled_once_per_group_across_a_redis_restarted_empty(
    database: Database, tmp_path: Path
) -> None:
    poison = product_created(POISON)
    before = [product_created() for _ in range(20)]
    during = [product_created() for _ in range(10)]
    after = [product_created() for _ in range(10)]
    healthy = [*before, *during, *after]

    async with private_redis(tmp_path) as server, moving_events(database, server) as relay:
        await commit(database, poison)
        await eventually(lambda: has_letters(database, 1))
        await until(lambda: relay.confirmed == 1)  # dead-lettered, so every group is done
        for event in before:
            await commit(database, event)
        # Killed with events on their way: some handled, some in flight, some not read yet.
        await eventually(lambda: audit_handled_at_least(database, 5))
        await server.kill()
        for event in during:  # committed while Redis is down: they wait in the outbox
            await commit(database, event)
        await asyncio.sleep(0.3)
        await server.restart_empty()
        for event in after:
            await commit(database, event)

        await eventually(lambda: all_handled(database, len(healthy)), within=30)
        # Published again: what the groups had not all acknowledged, not the dead letter.
        assert 0 < relay.rewound <= len(before)

    assert await handled(database) == {"stock": len(healthy), "audit": len(healthy) + 1}
    skus = [event.skus[0] for event in healthy]
    assert await on_hand(database.uow, skus) == dict.fromkeys(skus, 1)
    assert await letters(database) == [("stock", poison.event_id)]


async def has_letters(database: Database, count: int) -> bool:
    return len(await letters(database)) >= count


async def audit_handled_at_least(database: Database, count: int) -> bool:
    return (await handled(database)).get("audit", 0) >= count


async def all_handled(database: Database, healthy: int) -> bool:
    return await handled(database) == {"stock": healthy, "audit": healthy + 1}


@pytest.mark.postgres
async def test_a_worker_waits_for_redis_and_rides_out_a_restart_empty(
    postgres: Database, tmp_path: Path
) -> None:
    """`shopcore worker` itself: started while Redis is down it stays up, and it sends each
    order's confirmation once across a Redis restarted empty."""
    mail = tmp_path / "mail.jsonl"
    async with private_redis(tmp_path) as server:
        await server.kill()
        settings = Settings(
            database_url=postgres.url, redis_url=server.url, events_stream="restart:events"
        )
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "SHOPCORE_DATABASE_URL": postgres.url,
            "SHOPCORE_REDIS_URL": server.url,
            "SHOPCORE_EVENTS_STREAM": settings.events_stream,
            "SHOPCORE_MAIL_FILE": str(mail),
            "SHOPCORE_RELAY_POLL_MS": "50",
            "SHOPCORE_WORKER_CLAIM_IDLE_MS": "1000",
        }
        driver = build_driver(settings)
        try:
            async with shopcore_process("worker", env=environment) as worker:
                await driver.product("TEE-M")
                await driver.receive("TEE-M", 5)
                first = await driver.buy({"TEE-M": 1})
                await asyncio.sleep(1.0)
                assert worker.returncode is None  # no Redis: it waits, it does not exit

                await server.start()
                await until(lambda: confirmations_sent(mail) == [first.id])
                await server.restart_empty()
                second = await driver.buy({"TEE-M": 1})
                await until(lambda: confirmations_sent(mail) == [first.id, second.id], within=30)
                await asyncio.sleep(0.5)  # a repeat of the first would be there by now
                code, log = await stopped(worker, within=15)
        finally:
            await driver.close()
    assert code == 0, log
    assert confirmations_sent(mail) == [first.id, second.id]
