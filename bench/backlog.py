"""The events still on their way: outbox rows not yet relayed, and stream entries a consumer
group has not yet read and acknowledged.

Item 5 times how long a worker takes to empty this backlog, and item 4 waits until it is
empty before it times anything, so that its stock events do not queue behind thousands of
older ones. Both read "done" the same way: nothing unpublished in the outbox, and every group
with nothing pending and no lag. Item 5 then samples the backlog while checkouts run at their
peak (`Sampler`, `paces`), to tell whether one worker keeps up with them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis import Redis

from bench import config
from bench.database import sql, sql_exec

# How long the bench waits for a worker to empty the backlog: well beyond the 15-30 s the
# run's backlog takes at the rates item 5 reports.
DRAIN_DEADLINE_SECONDS = 240


async def unpublished() -> int:
    rows = await sql("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(rows[0]["n"])


async def forget_pgbench_events() -> None:
    """pgbench's outbox rows carry recorded payloads; they are not the worker's to relay."""
    await sql_exec("DELETE FROM outbox WHERE event_id LIKE 'pgb%'")


def stream_groups(client: Redis) -> list[dict[str, Any]]:
    """The consumer groups of the events stream (none while the stream does not exist yet)."""
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups(config.EVENTS_STREAM)
    except Exception:
        groups = []
    return groups


def caught_up(group: dict[str, Any]) -> bool:
    return bool(group["pending"] == 0 and group.get("lag") == 0)


def wait_drained(seconds: float) -> None:
    client = Redis.from_url(config.REDIS_URL, decode_responses=True)
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            if asyncio.run(unpublished()) == 0 and all(map(caught_up, stream_groups(client))):
                return
            time.sleep(0.2)
    finally:
        client.close()


# -- the worker at the checkout peak (item 5) --------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """The backlog at one moment: outbox rows not yet relayed and, per consumer group, stream
    entries not yet read (`lag`) or read and not yet acknowledged (`pending`). A group's
    backlog is all three: an event is handled once its group acknowledged it."""

    at: float
    unpublished: int
    groups: dict[str, int | None]  # lag + pending; None when Redis cannot tell the lag

    def of(self, group: str) -> int | None:
        own = self.groups.get(group)
        return None if own is None else self.unpublished + own


def group_backlog(group: dict[str, Any]) -> int | None:
    lag = group.get("lag")
    return None if lag is None else int(lag) + int(group["pending"])


async def sample(conn: asyncpg.Connection, client: Redis) -> Sample:
    unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    groups = {g["name"]: group_backlog(g) for g in stream_groups(client)}
    return Sample(time.perf_counter(), int(unpublished), groups)


class Sampler(threading.Thread):
    """Samples the backlog every `interval` seconds, on a connection of its own, until stopped."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[Sample] = []
        self._halt = threading.Event()

    def run(self) -> None:
        asyncio.run(self._loop())

    def stop(self) -> list[Sample]:
        self._halt.set()
        self.join(10)
        return self.samples

    async def _loop(self) -> None:
        conn = await asyncpg.connect(config.ASYNCPG_DSN)
        client = Redis.from_url(config.REDIS_URL, decode_responses=True)
        try:
            while not self._halt.is_set():
                self.samples.append(await sample(conn, client))
                await asyncio.sleep(self.interval)
        finally:
            client.close()
            await conn.close()


@dataclass(frozen=True)
class Pace:
    """How one consumer group kept up while `produced` events were written in `seconds`."""

    group: str
    produced: int
    seconds: float
    handled: int | None  # acknowledged in the window: produced minus the backlog's growth
    end_backlog: int | None
    late_max_backlog: int | None  # the most seen in the window's second half

    @property
    def produced_per_second(self) -> float:
        return self.produced / self.seconds

    @property
    def handled_per_second(self) -> float | None:
        return None if self.handled is None else self.handled / self.seconds

    @property
    def bounded(self) -> bool:
        """Kept up: in the second half of the window and at its end, the group was never more
        than one second of production behind (a group falling behind shows a backlog that
        grows through the run; one keeping up, a backlog of the events in flight)."""
        if self.end_backlog is None or self.late_max_backlog is None:
            return False
        bound = self.produced_per_second * 1.0
        return self.end_backlog <= bound and self.late_max_backlog <= bound


def paces(samples: list[Sample], produced: int, seconds: float) -> list[Pace]:
    """Each group's pace over a window whose first and last samples are its start and end."""
    first, last = samples[0], samples[-1]
    middle = first.at + (last.at - first.at) / 2
    late = [s for s in samples if s.at >= middle]
    found = []
    for group in sorted({*first.groups, *last.groups}):
        start, end = first.of(group), last.of(group)
        seen = [s.of(group) for s in late]
        handled = None if start is None or end is None else produced - (end - start)
        late_max = None if None in seen or not seen else max(x for x in seen if x is not None)
        found.append(Pace(group, produced, seconds, handled, end, late_max))
    return found
