"""Injecting the planned faults into the deployment, one at a time, and when each ran.

A fault is over when what it broke is back: the killed process started again (an API: ready
again), Redis listening again, the stopped worker continued, the terminated connections
(their processes open new ones by themselves). `Injected.down` is when an API instance could
not answer: the only time a client may get no answer at all. A fault whose moment comes
while the one before it is still in progress waits for it, and then GAP more.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.faults.deployment import Deployment
from tests.faults.schedule import (
    KILL_API,
    KILL_WORKER,
    PAUSE_WORKER,
    RESTART_REDIS,
    TERMINATE_POSTGRES,
    Planned,
)
from tests.support.databases import POSTGRES_URL

GAP = 1.0  # seconds between one fault's repair and the next fault, at least


@dataclass(frozen=True)
class Injected:
    planned: Planned
    started: float  # seconds since the run began
    ended: float
    detail: str = ""

    def down(self, instance: int) -> tuple[float, float] | None:
        """When API `instance` was down because of this fault, if it was."""
        if self.planned.kind == KILL_API and self.planned.target == instance:
            return self.started, self.ended
        return None

    def struck(self) -> str | None:
        """The worker this fault killed or stopped ("worker-1"), if it did."""
        if self.planned.kind in (KILL_WORKER, PAUSE_WORKER):
            return f"worker-{self.planned.target + 1}"
        return None

    def strikes(self, worker: str) -> bool:
        """Whether this fault can make `worker` send an email again: it killed or stopped
        that worker, or it cut every database connection, so a send's record may have been
        lost with its commit (emails go out at least once: docs/services/notifications)."""
        return self.planned.kind == TERMINATE_POSTGRES or self.struck() == worker

    def describe(self) -> str:
        what = self.planned.describe().rsplit(" at ", 1)[0]
        extra = f", {self.detail}" if self.detail else ""
        return f"{what}: {self.started:.1f}-{self.ended:.1f} s{extra}"


async def run_schedule(
    deployment: Deployment, planned: list[Planned], now: Callable[[], float], load_start: float
) -> list[Injected]:
    done: list[Injected] = []
    for fault in planned:
        after = done[-1].ended + GAP if done else 0.0
        await asyncio.sleep(max(0.0, load_start + fault.at - now(), after - now()))
        started = now()
        detail = await inject(deployment, fault)
        done.append(Injected(fault, started, now(), detail))
    return done


async def inject(deployment: Deployment, fault: Planned) -> str:
    """Break, wait for the repair; returns what is worth telling about it."""
    if fault.kind == KILL_WORKER:
        worker = deployment.workers[fault.target]
        await worker.kill()
        await worker.start()
        return f"pid {worker.pid}"
    if fault.kind == KILL_API:
        api = deployment.apis[fault.target]
        await api.kill()
        await api.start()
        async with httpx.AsyncClient(timeout=5) as client:
            await api.ready(client)
        return f"pid {api.pid}"
    if fault.kind == TERMINATE_POSTGRES:
        return f"{await terminate_backends(deployment.database_url)} connections terminated"
    if fault.kind == RESTART_REDIS:
        await deployment.redis.kill()
        await asyncio.sleep(fault.hold)
        deployment.redis.restarts += 1
        await deployment.redis.start()
        return ""
    if fault.kind == PAUSE_WORKER:
        worker = deployment.workers[fault.target]
        worker.signal(signal.SIGSTOP)
        await asyncio.sleep(fault.hold)
        worker.signal(signal.SIGCONT)
        return ""
    raise ValueError(f"unknown fault {fault.kind}")


async def terminate_backends(database_url: str) -> int:
    """pg_terminate_backend on every connection to the run's database, from a connection to
    the server's own database (never another session's database, never our own)."""
    name = make_url(database_url).database
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()
