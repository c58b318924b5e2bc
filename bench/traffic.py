"""The closed-loop load every item sends with wrk: catalog reads and checkouts at their peak.

A peak is always taken after a warm-up on the same URL (8 connections, `Durations.warmup`),
so that the first seconds of a fresh process (imports, statement caches, the near cache)
are not in it. Checkouts go through `lua/checkout.lua`: each request takes a cart of its
own from a file of `token<TAB>cart` lines and sends the cart as its `Idempotency-Key`, so a
request never replays another's answer; how many orders that confirmed is read from the
database around the run, since wrk counts answers, not orders.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench import config, wrk
from bench.config import Durations
from bench.database import sql

LISTING = "/v1/products"
READ_CONNECTIONS = 32
CHECKOUT_CONNECTIONS = 16
WARMUP_CONNECTIONS = 8
# Carts written per second of a checkout peak, well above any peak seen: a wrk thread that
# runs out asks for /health/live instead, and item 2 counts those as `spare requests`.
CARTS_PER_CHECKOUT_SECOND = 600
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


def peak_checkouts(port: int, carts: Path, durations: Durations) -> tuple[wrk.WrkResult, int]:
    """wrk's checkout run and the number of orders it confirmed."""
    before = asyncio.run(confirmed_orders())
    result = checkouts(port, carts, durations.checkout, CHECKOUT_CONNECTIONS)
    return result, asyncio.run(confirmed_orders()) - before


async def confirmed_orders() -> int:
    rows = await sql("SELECT count(*) AS n FROM orders WHERE status = 'confirmed'")
    return int(rows[0]["n"])
