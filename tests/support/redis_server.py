"""A Redis server of the test's own, for fault tests: SIGKILLed and started again empty on the
same port while the shop uses it. Never the machine's Redis (other sessions use it).

It runs with nothing persisted (`--save "" --appendonly no`), so a restart is a Redis that lost
everything, the worst case the shop must survive. Skips when `redis-server` is not installed.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.support.ports import free_port


class RedisServer:
    def __init__(self, executable: str, directory: Path) -> None:
        self._executable = executable
        self._directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._directory)]
        options += ["--save", "", "--appendonly", "no"]  # a restart loses everything
        with (self._directory / f"redis-{self.restarts}.log").open("wb") as log:
            self._process = subprocess.Popen(  # noqa: ASYNC220  # returns at once
                [self._executable, *options], stdout=log, stderr=subprocess.STDOUT
            )
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(10):
                while True:
                    try:
                        if await client.ping():
                            return
                    except RedisError:  # refused until it listens
                        pass
                    await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no save; clients see their connections reset."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)

    async def restart_empty(self) -> None:
        await self.kill()
        self.restarts += 1
        await self.start()


@asynccontextmanager
async def private_redis(directory: Path) -> AsyncIterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(executable, directory)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
