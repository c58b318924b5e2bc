"""An operator who drops every connection to one database, as `pg_terminate_backend` does.

The operator works on connections of its own, straight from asyncpg (outside every pool under
test), and only ever terminates backends of its own database (`current_database()`): the
machine's PostgreSQL is shared. Tests that use it take a database of their own for the same
reason (`private_postgres`): the session's database also serves apps that other tests share.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from adapters.db.outbox_wakeup import asyncpg_connect_args
from tests.support.databases import drop_postgres, scratch_postgres

_OTHERS = "datname = current_database() AND pid <> pg_backend_pid()"


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """A migrated database nobody else uses, dropped after (about 0.5 s)."""
    url = scratch_postgres()
    try:
        yield url
    finally:
        drop_postgres(url)


class Operator:
    def __init__(self, url: str) -> None:
        self._arguments = asyncpg_connect_args(url)
        self.terminated = 0  # backends terminated so far
        self._locker: int | None = None  # the backend holding `locking`'s row locks

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[Any]:
        connection = await asyncpg.connect(**self._arguments)
        try:
            yield connection
        finally:
            connection.terminate()  # no goodbye: another termination may have come first

    async def terminate_all(self) -> int:
        """Terminate every other backend of the database; how many there were."""
        async with self._connected() as connection:
            killed = int(
                await connection.fetchval(
                    f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {_OTHERS}"
                )
            )
        self.terminated += killed
        return killed

    @contextlib.asynccontextmanager
    async def terminating(self, every: float) -> AsyncIterator[None]:
        """Terminate every backend of the database every `every` seconds while the block runs.

        From a thread of its own: an ASGI test client may run each request to its end without
        letting the test's event loop turn, and the terminations must land during requests."""
        stop = threading.Event()

        async def repeat() -> None:
            while not stop.wait(every):
                await self.terminate_all()

        thread = threading.Thread(target=asyncio.run, args=(repeat(),), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)

    @contextlib.asynccontextmanager
    async def locking(self, select_for_update: str) -> AsyncIterator[None]:
        """Hold the row locks a `SELECT ... FOR UPDATE` takes, until the block ends or a
        termination ends the transaction holding them."""
        async with self._connected() as locker:
            await locker.execute("BEGIN")
            await locker.execute(select_for_update)
            self._locker = int(await locker.fetchval("SELECT pg_backend_pid()"))
            try:
                yield
            finally:
                self._locker = None

    async def until_a_statement_waits_for_a_lock(self) -> None:
        """Until a statement waits for the row locks `locking` holds.

        Waiting on any lock would not do: the app's outbox relay waits on its advisory lock
        now and then, and a termination before the statement under test reached the row lock
        would let that statement run on a fresh connection and succeed."""
        assert self._locker is not None, "wait inside `locking`"
        async with self._connected() as connection:
            for _ in range(1000):
                if await connection.fetchval(
                    f"SELECT count(*) FROM pg_stat_activity WHERE {_OTHERS} "
                    "AND $1 = ANY(pg_blocking_pids(pid))",
                    self._locker,
                ):
                    return
                await asyncio.sleep(0.01)
        raise AssertionError("no statement came to wait for the lock within 10 s")
