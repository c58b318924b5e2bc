"""The operator's deployment, on this machine: two `shopcore serve` and two `shopcore worker`
processes on one PostgreSQL database and a Redis server of the run's own.

Every process gets the same environment but its own mail file (`SHOPCORE_MAIL_FILE`, one
JSON line per email), so the emails can be counted across restarts and processes. The
recovery settings are short (`SETTLE_WITHIN` 4 s, `RECOVERY_INTERVAL` 1 s, a reservation
held 10 s), and so is the time a stopped worker's events wait before another worker takes
them over (12 s, just over the longest a handler runs): what a fault leaves half-done is
finished within the run, not 60 s after it. Redis is private (tests/support/redis_server.py):
it is SIGKILLed and restarted empty, which the machine's own Redis, shared with other
sessions, must never be.

A process is `Process`: started, SIGKILLed and started again on the same port, SIGSTOPped
and SIGCONTed. An API counts as up once `/health/ready` answers 200, a worker once started
(it has no port, and `shopcore worker` waits for what it needs rather than exiting).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

JWT_SECRET = "fault-run-signing-key-" + "f" * 32
SETTLE_WITHIN_SECONDS = 4
START_TIMEOUT = 90.0  # a process start is seconds; a loaded 2-core machine, tens of them


def environment(database_url: str, redis_url: str, mail_file: Path) -> dict[str, str]:
    """What every process of the deployment runs with (the machine's own SHOPCORE_ variables
    left out)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")},
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SHOPCORE_DATABASE_URL": database_url,
        # 4 processes x (4 + 4 overflow) connections: well within the server's 100 slots,
        # which other test sessions share.
        "SHOPCORE_DATABASE_POOL_SIZE": "4",
        "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS": "10",
        "SHOPCORE_REDIS_URL": redis_url,
        "SHOPCORE_JWT_SECRET": JWT_SECRET,
        "SHOPCORE_RATE_LIMIT_PER_MINUTE": "1000000",
        "SHOPCORE_AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
        "SHOPCORE_CHECKOUT_RATE_LIMIT_PER_MINUTE": "1000000",
        "SHOPCORE_MAIL_FILE": str(mail_file),
        "SHOPCORE_SETTLE_WITHIN_SECONDS": str(SETTLE_WITHIN_SECONDS),
        # Shorter, as it must be: a checkout asks the gateway only with this much time left.
        "SHOPCORE_GATEWAY_TIMEOUT_SECONDS": str(SETTLE_WITHIN_SECONDS / 2),
        "SHOPCORE_RECOVERY_INTERVAL_SECONDS": "1",
        "SHOPCORE_RESERVATION_TTL_SECONDS": "10",
        "SHOPCORE_EXPIRE_INTERVAL_SECONDS": "1",
        # Longer than a handler can run: it may wait the pool's 10 s for a connection when
        # the database's connections were just terminated. At 2 s a worker took over events
        # another was still handling that way, and both sent the same email (a repeat no
        # fault explained).
        "SHOPCORE_WORKER_CLAIM_IDLE_MS": "12000",
        "SHOPCORE_RELAY_POLL_MS": "100",
    }


@dataclass
class Process:
    """One `shopcore` process; `start` again after `kill` runs it anew (same port, same log
    and mail file, appended)."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str]
    log: Path
    port: int | None = None
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        with self.log.open("ab") as log:
            log.write(f"--- started at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "apps.cli", *self.args, env=self.env, stdout=log, stderr=log
            )

    async def ready(self, client: httpx.AsyncClient, within: float = START_TIMEOUT) -> None:
        """Until the API answers ready (a worker: at once); fails if the process exits."""
        deadline = time.monotonic() + within
        while self.port is not None:
            try:
                if (await client.get(f"{self.base}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"{self.name} exited during start-up; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready within {within:.0f} s")
            await asyncio.sleep(0.1)

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signum)

    async def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (a stopped one is woken first), then SIGKILL after 20 s."""
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        if self.process is None:
            return
        try:
            await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            await self.kill()


@dataclass
class Deployment:
    """Two APIs, two workers, their Redis and their logs; `directory` keeps the logs and the
    mail files."""

    directory: Path
    database_url: str
    redis: RedisServer
    apis: list[Process]
    workers: list[Process]

    @classmethod
    def plan(cls, directory: Path, database_url: str, redis: RedisServer) -> Deployment:
        def process(name: str, *args: str, port: int | None = None) -> Process:
            env = environment(database_url, redis.url, directory / f"mail-{name}.jsonl")
            return Process(name, args, env, directory / f"{name}.log", port)

        apis = []
        for number in (1, 2):
            port = free_port()
            apis.append(process(f"api-{number}", "serve", "--port", str(port), port=port))
        workers = [process(f"worker-{number}", "worker") for number in (1, 2)]
        return cls(directory, database_url, redis, apis, workers)

    @property
    def processes(self) -> list[Process]:
        return [*self.apis, *self.workers]

    @property
    def bases(self) -> list[str]:
        return [api.base for api in self.apis]

    @property
    def mail_files(self) -> list[Path]:
        return sorted(self.directory.glob("mail-*.jsonl"))

    async def start(self) -> None:
        for process in self.processes:
            await process.start()
        async with httpx.AsyncClient(timeout=5) as client:
            for api in self.apis:
                await api.ready(client)

    async def stop(self) -> None:
        await asyncio.gather(*(process.stop() for process in self.processes))

    def logs(self, tail: int = 4000) -> str:
        """The end of every process's log, for a failure's message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.directory.glob("*.log"))
        )
