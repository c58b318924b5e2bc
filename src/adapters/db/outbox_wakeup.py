"""Wakes the outbox relay when a commit wrote outbox rows, instead of leaving it to the poll.

On PostgreSQL, migration 0004 puts a statement-level trigger on `outbox` that sends
`NOTIFY shopcore_outbox` (delivered at commit, never for a rollback; one per transaction
however many rows it wrote). `OutboxWakeup` holds one connection of its own, outside the
engine's pool, that LISTENs on the channel and calls `wake()` for each notification.

It never gives up and never raises: when its connection drops (a restart, a failover,
`pg_terminate_backend`) or the server stops answering its keep-alive check, it reconnects with
exponential backoff and jitter, and wakes the relay once listening again, since notifications
sent while it was away are lost. Meanwhile the relay's poll (`SHOPCORE_RELAY_POLL_MS`) keeps
publishing, only later. SQLite has no NOTIFY: there the poll is all there is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from adapters.machinery.backoff import backoff

logger = logging.getLogger("shopcore.outbox_wakeup")

OUTBOX_CHANNEL = "shopcore_outbox"  # what migration 0004's trigger notifies
APPLICATION_NAME = "shopcore-outbox-wakeup"  # how the connection shows in pg_stat_activity

Connect = Callable[[], Awaitable[Any]]  # a new asyncpg connection


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """asyncpg.connect() keywords for a SQLAlchemy `postgresql+asyncpg://` URL, translated by
    SQLAlchemy's own asyncpg dialect, as the engine's connections are (host, port, user,
    password, database, query options), less the options only the dialect understands."""
    dialect: Any = asyncpg_dialect  # SQLAlchemy leaves it unannotated
    _, options = dialect().create_connect_args(make_url(url))
    for dialect_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
        options.pop(dialect_only, None)
    return dict(options)


class OutboxWakeup:
    def __init__(
        self,
        connect: Connect,
        wake: Callable[[], None],
        *,
        channel: str = OUTBOX_CHANNEL,
        check_interval: float = 30.0,
        timeout: float = 10.0,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        self._connect = connect
        self._wake = wake
        self._channel = channel
        self._check_interval = check_interval
        self._timeout = timeout
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._backend_pid: int | None = None
        self.connections = 0  # times it started listening (1 + reconnections), for tests/metrics
        self.notifications = 0

    @classmethod
    def for_url(cls, url: str, wake: Callable[[], None], **options: Any) -> OutboxWakeup:
        arguments = asyncpg_connect_args(url)
        settings = {**arguments.pop("server_settings", {}), "application_name": APPLICATION_NAME}

        async def connect() -> Any:
            return await asyncpg.connect(**arguments, server_settings=settings)

        return cls(connect, wake, **options)

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection; None while not listening."""
        return self._backend_pid

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting as often as it takes; `stop` interrupts
        whatever it is doing (connecting included)."""
        listening = asyncio.create_task(self._listen(), name="outbox-wakeup")
        try:
            await stop.wait()
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    async def _listen(self) -> None:
        failures = 0
        while True:
            connection: Any = None
            try:
                async with asyncio.timeout(self._timeout):
                    connection = await self._connect()
                lost = asyncio.Event()
                connection.add_termination_listener(_setter(lost))
                async with asyncio.timeout(self._timeout):
                    await connection.add_listener(self._channel, self._notified)
                self._backend_pid = connection.get_server_pid()
                self.connections += 1
                if self.connections > 1:
                    logger.info("listening for outbox commits again")
                failures = 0
                self._wake()  # what was committed while nobody listened
                await self._watch(connection, lost)
            except Exception as error:
                failures += 1
                logger.warning(
                    "outbox notifications unavailable (%r); the relay polls meanwhile", error
                )
            finally:
                self._backend_pid = None
                if connection is not None:
                    await self._close(connection)
            delay = backoff(failures, self._min_backoff, self._max_backoff)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _notified(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.notifications += 1
        self._wake()

    async def _watch(self, connection: Any, lost: asyncio.Event) -> None:
        """Raises when the connection is lost or stops answering (a dropped network may
        never close the socket: the periodic check finds that out)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_interval):
                    await lost.wait()
            if lost.is_set() or connection.is_closed():
                raise ConnectionError("the listening connection was closed")
            async with asyncio.timeout(self._timeout):
                await connection.fetchval("SELECT 1")

    async def _close(self, connection: Any) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await connection.close()
        except Exception:  # closed already, or the server is gone: drop the socket
            with contextlib.suppress(Exception):
                connection.terminate()


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    """A termination listener that sets `event`."""
    return lambda _connection: event.set()
