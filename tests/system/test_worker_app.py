"""`shopcore worker` end to end: an order placed through a shop on PostgreSQL with Redis
configured sends no email itself; the worker's relay publishes the outbox and its
notifications group sends the confirmation, once; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import URL, make_url, text

from adapters.db.outbox_wakeup import APPLICATION_NAME
from apps.cli import main
from apps.settings import Settings
from tests.messaging.helpers import eventually, until
from tests.support.cli_process import shopcore_process, stopped
from tests.support.driver import build_driver
from tests.support.effects import product_created
from tests.support.messaging import Bed, Database
from tests.support.ports import free_port

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

    async with shopcore_process(
        "--log-level", "INFO", "worker", "--concurrency", "2",
        env=_environment(postgres, bed, mail),
    ) as worker:  # fmt: skip
        await until(lambda: mail.exists() and mail.read_text().strip())
        await asyncio.sleep(0.3)  # a second email would be there by now
        code, log = await stopped(worker, within=10)
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

    async with shopcore_process(
        "relay", env=_environment(postgres, bed, tmp_path / "mail.jsonl"), capture_stderr=False
    ) as relay:
        await eventually(lambda: _stream_length(bed, 3))
        assert (await stopped(relay, within=10))[0] == 0

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
    async with shopcore_process("relay", env=environment, capture_stderr=False) as relay:
        await eventually(lambda: _stream_length(bed, 1))  # its first pass
        await eventually(lambda: _listening(postgres))
        async with postgres.uow() as uow:
            uow.emit(second)
            await uow.commit()
        # Far below the 60 s poll: only the notification explains it.
        await eventually(lambda: _stream_length(bed, 2), within=20)
        assert (await stopped(relay, within=10))[0] == 0

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


class _Proxy:
    """A TCP proxy in front of PostgreSQL that the test can cut: the worker's database then
    refuses connections, as one that went away does."""

    def __init__(self, target: URL) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> URL:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return self._target.set(host="127.0.0.1", port=port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self._target.host or "127.0.0.1", self._target.port or 5432
        upstream_reader, upstream = await asyncio.open_connection(host, port)
        self._writers += [writer, upstream]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65_536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()


async def test_the_workers_endpoint_answers_probes_and_counts_the_events_it_handled(
    postgres: Database, bed: Bed, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=postgres.url, redis_url=bed.url, events_stream=bed.streams.events
    )
    driver = build_driver(settings)
    try:
        await driver.product("TEE-M")
        await driver.receive("TEE-M", 3)
        await driver.buy({"TEE-M": 1})
    finally:
        await driver.close()
    proxy = _Proxy(make_url(postgres.url))
    port = free_port()
    environment = {
        **_environment(postgres, bed, tmp_path / "mail.jsonl"),
        "SHOPCORE_DATABASE_URL": (await proxy.start()).render_as_string(hide_password=False),
        "SHOPCORE_WORKER_HTTP_PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    async with shopcore_process("worker", env=environment) as worker:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def answers(path: str, status: int) -> bool:
                try:
                    return (await client.get(path)).status_code == status
                except httpx.TransportError:  # not listening yet
                    return False

            await eventually(lambda: answers("/health/ready", 200), within=30)
            ready = (await client.get("/health/ready")).json()
            assert ready == {
                "status": "ok",
                "checks": {"database": "ok", "redis": "ok", "relay": "ok"},
            }

            async def handled() -> bool:
                text = (await client.get("/metrics")).text
                return 'shopcore_events_handled_total{group="notifications"} 1.0' in text

            await eventually(handled, within=30)
            metrics = (await client.get("/metrics")).text
            assert "shopcore_events_relayed_total" in metrics
            assert 'shopcore_db_pool_in_use{pool="primary"}' in metrics
            assert "shopcore_outbox_unpublished_events 0.0" in metrics

            await proxy.cut()  # the database goes away
            await eventually(lambda: answers("/health/ready", 503), within=30)
            unready = (await client.get("/health/ready")).json()
            assert unready["status"] == "unavailable"
            assert unready["checks"]["database"] == "failing"
            assert unready["checks"]["redis"] == "ok"
            assert (await client.get("/health/live")).status_code == 200

        code, log = await stopped(worker, within=30)
    assert code == 0, log


def test_a_worker_whose_http_port_is_taken_does_not_start(postgres: Database, bed: Bed) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main,
            ["worker"],
            env={
                "SHOPCORE_DATABASE_URL": postgres.url,
                "SHOPCORE_REDIS_URL": bed.url,
                "SHOPCORE_EVENTS_STREAM": bed.streams.events,
                "SHOPCORE_WORKER_HTTP_PORT": str(port),
            },
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
