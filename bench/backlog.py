"""The events still on their way: outbox rows not yet relayed, and stream entries a consumer
group has not yet read and acknowledged.

Item 5 times how long a worker takes to empty this backlog, and item 4 waits until it is
empty before it times anything, so that its stock events do not queue behind thousands of
older ones. Both read "done" the same way: nothing unpublished in the outbox, and every group
with nothing pending and no lag.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

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
