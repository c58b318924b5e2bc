"""A redis-server of the bench's own, on a spare port, to measure what append-only-file
persistence costs: the shared Redis here runs with none (`--save "" --appendonly no`)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


@asynccontextmanager
async def private_redis(port: int, appendfsync: str | None) -> AsyncIterator[str]:
    """Yield the URL of a redis-server with `--appendonly yes --appendfsync <appendfsync>`
    (None: no persistence, as the shared one) writing to a fresh directory; stop it and
    delete the directory after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    directory = tempfile.mkdtemp(prefix=f"bench-brokers-redis-{appendfsync or 'none'}-")
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
    ]  # fmt: skip
    if appendfsync is None:
        command += ["--appendonly", "no"]
    else:
        command += ["--appendonly", "yes", "--appendfsync", appendfsync]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client: Redis = Redis.from_url(url)
        try:
            for _ in range(100):
                if process.returncode is not None:  # the port was taken: never use another's
                    raise RuntimeError(f"redis-server on port {port} exited: is the port free?")
                try:
                    await client.ping()
                    break
                except (OSError, RedisConnectionError):
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"redis-server on port {port} did not answer")
        finally:
            await client.aclose()
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)
        shutil.rmtree(directory, ignore_errors=True)
