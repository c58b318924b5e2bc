"""Item 5: the worker, draining the events the items before it left in the outbox.

shopcore side: the outbox rows the runs above left (about 10,000 events) drained by one
`shopcore worker` (relay + both groups): events/s until the outbox is published, and until
each consumer group has read and acknowledged everything.
Ceiling: `redis-benchmark` XADD, 50 clients, no pipelining. No target.

The clock starts when the worker is started, so each group's rate includes the relay before
it: a group cannot handle an event the relay has not published yet. The worker keeps running
after this item, until item 6 stops it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from typing import Any

from redis import Redis

from bench import config
from bench.backlog import DRAIN_DEADLINE_SECONDS, caught_up, stream_groups, unpublished
from bench.context import Context
from bench.report import Row, log


def run(ctx: Context) -> None:
    log("item 5: worker throughput on the events the runs above left in the outbox")
    backlog = asyncio.run(unpublished())
    ctx.start_worker("worker")
    relayed_at, groups_done = _drain()
    xadd = redis_benchmark_xadd()
    relay_rate = backlog / relayed_at if relayed_at else None
    ctx.report.add(
        Row(
            "5",
            f"relay: outbox to stream ({backlog:,} events)",
            relay_rate,
            xadd["rps"],
            unit="events/s",
            note="ceiling: redis-benchmark XADD, 50 clients, no pipelining",
        )
    )
    for name, done in sorted(groups_done.items()):
        ctx.report.add(
            Row(
                "5",
                f"handled by group {name}",
                backlog / done,
                xadd["rps"],
                unit="events/s",
                note=f"caught up {done:.1f} s after start (relay included)",
            )
        )
    ctx.report.details["worker"] = {
        "backlog": backlog,
        "relayed_seconds": relayed_at,
        "groups_seconds": groups_done,
        "redis_benchmark_xadd": xadd,
    }


def _drain() -> tuple[float | None, dict[str, float]]:
    """Seconds until the outbox was all published, and until each group had caught up."""
    started = time.perf_counter()
    relayed_at: float | None = None
    groups_done: dict[str, float] = {}
    client = Redis.from_url(config.REDIS_URL, decode_responses=True)
    deadline = started + DRAIN_DEADLINE_SECONDS
    while time.perf_counter() < deadline:
        now = time.perf_counter() - started
        if relayed_at is None and asyncio.run(unpublished()) == 0:
            relayed_at = now
        if relayed_at is not None:
            info = stream_groups(client)
            for group in info:
                if caught_up(group) and group["name"] not in groups_done:
                    groups_done[group["name"]] = now
            if info and len(groups_done) == len(info):
                break
        time.sleep(0.1)
    client.close()
    return relayed_at, groups_done


def redis_benchmark_xadd() -> dict[str, Any]:
    key = "bench:xadd"
    out = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            config.REDIS_HOST,
            "-p",
            str(config.REDIS_PORT),
            "--dbnum",
            str(config.REDIS_DB),
            "-n",
            "100000",
            "-c",
            "50",
            "-q",
            "XADD",
            key,
            "*",
            "payload",
            "x" * 400,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    client = Redis.from_url(config.REDIS_URL)
    client.delete(key)
    client.close()
    last = out.replace("\r", "\n").strip().splitlines()[-1]
    rps = float(re.search(r"([\d.]+) requests per second", last).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "raw": last[-120:]}
