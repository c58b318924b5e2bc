"""The closed-loop load every item sends with wrk: catalog reads and checkouts at their peak.

A peak is always taken after a warm-up on the same URL (8 connections, `Durations.warmup`),
so that the first seconds of a fresh process (imports, statement caches, the near cache)
are not in it. Checkouts go through `lua/checkout.lua`: each request takes a cart of its
own from a file of `token<TAB>cart` lines and sends the cart as its `Idempotency-Key`, so a
request never replays another's answer; how many orders that confirmed is read from the
database around the run, since wrk counts answers, not orders.

Each peak also reads the CPU the serving process (and the processes below it) spent during
the measured run only, warm-up excluded (`bench/cpu.py`), for CPU milliseconds per request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bench import config, cpu, wrk
from bench.config import Durations
from bench.database import sql
from bench.procs import Proc

LISTING = "/v1/products"
READ_CONNECTIONS = 32
CHECKOUT_CONNECTIONS = 16
WARMUP_CONNECTIONS = 8
# Carts written per second of a checkout peak, well above any peak seen: a wrk thread that
# runs out asks for /health/live instead, and item 2 counts those as `spare requests`.
CARTS_PER_CHECKOUT_SECOND = 600
# The thin app's checkouts are cheaper: it served 3,600-4,400 a second on this machine and ran
# out of 1,000 a second, which made its peak (and the ratio) unusable.
THIN_CARTS_PER_CHECKOUT_SECOND = 7000
CHECKOUT_LUA = config.BENCH / "lua" / "checkout.lua"


def api_url(port: int, path: str = "") -> str:
    return f"http://127.0.0.1:{port}{path}"


def wrk_get(
    port: int, path: str, seconds: float, connections: int = READ_CONNECTIONS
) -> wrk.WrkResult:
    return wrk.run(api_url(port, path), seconds=seconds, connections=connections)


def warm(port: int, path: str, durations: Durations) -> None:
    wrk.run(api_url(port, path), seconds=durations.warmup, connections=WARMUP_CONNECTIONS)


def read_peak(port: int, path: str, durations: Durations) -> wrk.WrkResult:
    warm(port, path, durations)
    return wrk_get(port, path, durations.read)


def checkouts(port: int, carts: Path, seconds: float, connections: int) -> wrk.WrkResult:
    return wrk.run(
        api_url(port),
        seconds=seconds,
        connections=connections,
        script=CHECKOUT_LUA,
        script_args=[str(carts), "1"],
    )


@dataclass(frozen=True)
class Peak:
    """A peak run, with the CPU the server spent on it per answer (None: not measured)."""

    result: wrk.WrkResult
    cpu_ms: float | None = None
    confirmed: int = 0  # orders, for checkouts
    # What the local PostgreSQL server spent per confirmed order (None: not on this machine).
    database_cpu_ms: float | None = None


def measured_read(port: int, path: str, durations: Durations, server: Proc) -> Peak:
    """`read_peak`, with the CPU `server` spent per answered read during the run."""
    warm(port, path, durations)
    before = server.cpu_seconds()
    result = wrk_get(port, path, durations.read)
    return Peak(result, cpu.ms_per(before, server.cpu_seconds(), result.requests))


def peak_checkouts(
    port: int,
    carts: Path,
    durations: Durations,
    server: Proc | None = None,
    dsn: str = config.ASYNCPG_DSN,
) -> Peak:
    """wrk's checkout run, the number of orders it confirmed (in the database at `dsn`), and
    the CPU `server` spent per confirmed order."""
    before = asyncio.run(confirmed_orders(dsn))
    cpu_before = server.cpu_seconds() if server else 0.0
    database_before = cpu.database_seconds()
    result = checkouts(port, carts, durations.checkout, CHECKOUT_CONNECTIONS)
    cpu_after = server.cpu_seconds() if server else 0.0
    database_after = cpu.database_seconds()
    confirmed = asyncio.run(confirmed_orders(dsn)) - before
    cpu_ms = cpu.ms_per(cpu_before, cpu_after, confirmed) if server else None
    database_ms = (
        cpu.ms_per(database_before, database_after, confirmed)
        if database_before is not None and database_after is not None
        else None
    )
    return Peak(result, cpu_ms, confirmed, database_ms)


async def confirmed_orders(dsn: str = config.ASYNCPG_DSN) -> int:
    rows = await sql("SELECT count(*) AS n FROM orders WHERE status = 'confirmed'", dsn=dsn)
    return int(rows[0]["n"])
