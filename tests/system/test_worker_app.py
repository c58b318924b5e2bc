"""`shopcore worker` end to end: an order placed through a shop on PostgreSQL with Redis
configured sends no email itself; the worker's relay publishes the outbox and its
notifications group sends the confirmation, once; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from adapters.db.outbox_wakeup import APPLICATION_NAME
from apps.cli import main
from apps.settings import Settings
from tests.messaging.helpers import eventually, until
from tests.support.driver import build_driver
from tests.support.effects import product_created
from tests.support.messaging import Bed, Database

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _environment(postgres: Database, bed: Bed, mail: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SHOPCORE_DATABASE_URL": postgres.url,
        "SHOPCORE_REDIS_URL": bed.url,
        "SHOPCORE_EVENTS_STREAM": bed.streams.events,
        "SHOPCORE_MAIL_FILE": str(mail),
        "SHOPCORE_RELAY_POLL_MS": "50",
        "SHOPCORE_WORKER_CLAIM_IDLE_MS": "1000",
    }


async def test_the_worker_relays_and_sends_the_order_confirmation_once(
    postgres: Database, bed: Bed, tmp_path: Path
) -> None:
    mail = tmp_path / "mail.jsonl"
    settings = Settings(
        database_url=postgres.url, redis_url=bed.url, events_stream=bed.streams.events
    )
    driver = build_driver(settings)
    try:
        await driver.product("TEE-M")
        await driver.receive("TEE-M", 3)
        order = await driver.buy({"TEE-M": 1})
    finally:
        await driver.close()
    assert driver.notifier.sent == []  # the API process leaves it to the workers

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.cli",
        "--log-level",
        "INFO",
        "worker",
        "--concurrency",
        "2",
        env=_environment(postgres, bed, mail),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(lambda: mail.exists() and mail.read_text().strip())
        await asyncio.sleep(0.3)  # a second email would be there by now
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.stderr is not None
    log = (await worker.stderr.read()).decode()
    assert code == 0, log

    sent = [json.loads(line) for line in mail.read_text().splitlines()]
    assert [(m["to"], m["dedup_key"]) for m in sent] == [
        (sent[0]["to"], f"order-confirmation:{order.id}")
    ]
    assert sent[0]["to"].endswith("@example.com")
    pending = await bed.redis.xpending(bed.streams.events, "notifications")
    assert pending["pending"] == 0


def test_the_worker_refuses_to_run_without_redis() -> None:
    result = CliRunner().invoke(main, ["worker"], env={"SHOPCORE_REDIS_URL": ""})
    assert result.exit_code == 2
    assert "needs a SQL database" in result.output and "SHOPCORE_REDIS_URL" in result.output


def test_the_worker_names_the_groups_it_knows(postgres: Database, bed: Bed) -> None:
    result = CliRunner().invoke(
        main,
        ["worker", "--group", "nope"],
        env={"SHOPCORE_DATABASE_URL": postgres.url, "SHOPCORE_REDIS_URL": bed.url},
    )
    assert result.exit_code == 2
    assert "unknown handler group nope" in result.output
    assert "catalog-cache, notifications" in result.output


async def test_shopcore_relay_publishes_the_outbox_until_sigterm(
    postgres: Database, bed: Bed, tmp_path: Path
) -> None:
    events = [product_created() for _ in range(3)]
    async with postgres.uow() as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()

    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.cli",
        "relay",
        env=_environment(postgres, bed, tmp_path / "mail.jsonl"),
    )
    try:
        await eventually(lambda: _stream_length(bed, 3))
        relay.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await relay.wait() == 0
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()

    entries = await bed.redis.xrange(bed.streams.events)
    assert [fields["event_id"] for _, fields in entries] == [e.event_id for e in events]  # type: ignore[union-attr]


async def _stream_length(bed: Bed, length: int) -> bool:
    return int(await bed.redis.xlen(bed.streams.events)) == length


async def test_shopcore_relay_on_postgresql_publishes_a_commit_without_waiting_for_its_poll(
    postgres: Database, bed: Bed, tmp_path: Path
) -> None:
    first, second = product_created(), product_created()
    async with postgres.uow() as uow:
        uow.emit(first)
        await uow.commit()
    environment = {
        **_environment(postgres, bed, tmp_path / "mail.jsonl"),
        "SHOPCORE_RELAY_POLL_MS": "60000",  # only the commit's notification can explain a hurry
    }
    relay = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "apps.cli", "relay", env=environment
    )
    try:
        await eventually(lambda: _stream_length(bed, 1))  # its first pass
        await eventually(lambda: _listening(postgres))
        async with postgres.uow() as uow:
            uow.emit(second)
            await uow.commit()
        # Far below the 60 s poll: only the notification explains it.
        await eventually(lambda: _stream_length(bed, 2), within=20)
        relay.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await relay.wait() == 0
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()

    entries = await bed.redis.xrange(bed.streams.events)
    assert [fields["event_id"] for _, fields in entries] == [first.event_id, second.event_id]  # type: ignore[union-attr]


async def _listening(database: Database) -> bool:
    """The relay's wake-up connection has run its LISTEN and waits."""
    async with database.engine.connect() as connection:
        found = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name AND query ILIKE 'LISTEN%' AND state = 'idle'"
            ),
            {"name": APPLICATION_NAME},
        )
    return bool(found)
