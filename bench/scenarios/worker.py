"""Item 5: the worker, draining the events the items before it left in the outbox, then
keeping up with the API at its checkout peak.

Drain (context, no target): the outbox rows the runs above left (about 10,000 events)
drained by one `shopcore worker` (relay + both groups): events/s until the outbox is
published, and until each consumer group has read and acknowledged everything, beside
`redis-benchmark` XADD, 50 clients, no pipelining. The clock starts when the worker is
started, so each group's rate includes the relay before it.

Keeping up (target): with the backlog drained and the one worker running, wrk sends
checkouts at their peak (16 connections, as item 2) while the backlog is sampled every
250 ms (`backlog.Sampler`: outbox rows not relayed + each group's lag + pending). Produced:
outbox rows written during the run, per second. Handled by a group: produced minus the
growth of its backlog over the run, per second. Target: for every group, the backlog is
bounded: at the end and throughout the second half of the run, under one second of
production. A worker that keeps up handles just under what is produced (the events in
flight at the end); one that falls behind shows a backlog that grows all through the run.
The API's peak here is lower than item 2's: the worker takes its share of the 2 cores, as
it would in production.

The worker keeps running after this item, until item 6 stops it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from typing import Any

import asyncpg
from redis import Redis

from bench import config
from bench.backlog import (
    DRAIN_DEADLINE_SECONDS,
    Pace,
    Sampler,
    caught_up,
    paces,
    sample,
    stream_groups,
    unpublished,
    wait_drained,
)
from bench.context import Context
from bench.database import sql
from bench.report import Row, fmt, log, wrk_summary
from bench.traffic import CARTS_PER_CHECKOUT_SECOND, peak_checkouts


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
    _keeping_up(ctx)
    for check in ctx.after_worker:
        check()


def _keeping_up(ctx: Context) -> None:
    """One worker beside the API at its checkout peak: does its backlog stay bounded?"""
    wait_drained(DRAIN_DEADLINE_SECONDS)
    last_id = asyncio.run(_last_outbox_id())
    budget = int(CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout)
    carts = ctx.carts_file("checkout-worker", budget)
    start = asyncio.run(_one_sample())
    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    peak = peak_checkouts(config.API_PORT, carts, ctx.durations)
    seconds = time.perf_counter() - started
    during = sampler.stop()
    end = asyncio.run(_one_sample())
    produced = asyncio.run(_produced_since(last_id))
    found = paces([start, *during, end], produced, seconds)
    slowest = min(found, key=_handled, default=None)
    per_second = produced / seconds
    row = ctx.report.add(
        Row(
            "5",
            "worker keeps up at the checkout peak: handled vs produced (slowest group)",
            slowest.handled_per_second if slowest else None,
            per_second,
            unit="events/s",
            target="backlog < 1 s of events",
            note=f"{produced:,} events from {peak.confirmed:,} checkouts "
            f"({peak.result.rps:,.1f}/s, the worker running); "
            + "; ".join(
                f"{p.group}: backlog at end {fmt(p.end_backlog, 0)}, "
                f"most in the second half {fmt(p.late_max_backlog, 0)}"
                for p in found
            )
            + f" (1 s = {per_second:,.0f} events)",
        )
    )
    row.met = bool(found) and all(p.bounded for p in found)
    ctx.report.details["worker_keeping_up"] = {
        "produced": produced,
        "seconds": seconds,
        "checkouts": wrk_summary(peak.result) | {"confirmed": peak.confirmed},
        "groups": [
            {
                "group": p.group,
                "handled": p.handled,
                "handled_per_second": p.handled_per_second,
                "end_backlog": p.end_backlog,
                "late_max_backlog": p.late_max_backlog,
                "bounded": p.bounded,
            }
            for p in found
        ],
        "samples": [
            {"at": round(s.at - start.at, 3), "unpublished": s.unpublished, **s.groups}
            for s in [start, *during, end]
        ],
    }


def _handled(pace: Pace) -> float:
    return -1.0 if pace.handled is None else float(pace.handled)


async def _one_sample() -> Any:
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    client = Redis.from_url(config.REDIS_URL, decode_responses=True)
    try:
        return await sample(conn, client)
    finally:
        client.close()
        await conn.close()


async def _last_outbox_id() -> int:
    rows = await sql("SELECT coalesce(max(id), 0) AS id FROM outbox")
    return int(rows[0]["id"])


async def _produced_since(last_id: int) -> int:
    rows = await sql("SELECT count(*) AS n FROM outbox WHERE id > $1", last_id)
    return int(rows[0]["n"])


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
