"""Item 2: checkout of a 3-line cart, at its peak and at a fixed rate below it.

shopcore side: wrk with `lua/checkout.lua`, 16 connections, each request a cart of its own
and its own `Idempotency-Key`; then p50/p99 at 80 % of that peak with the fixed-rate
generator (`bench/loadgen.py`, open loop: a stall shows in the percentiles).
Ceiling: pgbench `-M prepared`, 16 clients, running the **recorded statements** of one API
checkout (`bench/preparation.py`).
Targets: the peak at 0.5x of pgbench or more with no cart left unused by wrk; a p99 under
50 ms at 80 % of the peak, with no errors.

pgbench runs first, and the outbox rows it wrote are deleted: they carry recorded payloads,
not events of this run for item 5 to relay. The peak is what item 6 compares two instances
with (`checkout_rps`).
"""

from __future__ import annotations

import asyncio

from bench import capture, config, loadgen
from bench.backlog import forget_pgbench_events
from bench.context import Context
from bench.preparation import PGBENCH_CLIENTS
from bench.report import Row, fmt, log, missing, pgbench_summary, wrk_summary
from bench.traffic import (
    CARTS_PER_CHECKOUT_SECOND,
    CHECKOUT_CONNECTIONS,
    WARMUP_CONNECTIONS,
    checkouts,
    peak_checkouts,
)


def run(ctx: Context) -> None:
    log("item 2: checkout through the API against pgbench of the same statements")
    port = config.API_PORT
    ceiling = capture.run_pgbench(
        ctx.scripts["checkout"],
        clients=PGBENCH_CLIENTS,
        transactions=ctx.durations.pgbench_transactions,
    )
    asyncio.run(forget_pgbench_events())
    warm_carts = ctx.carts_file("checkout-warm", 400)
    checkouts(port, warm_carts, ctx.durations.warmup, WARMUP_CONNECTIONS)
    budget = int(CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout)
    peak, confirmed = peak_checkouts(port, ctx.carts_file("checkout-peak", budget), ctx.durations)
    spare = _spare(peak.raw)
    rate = 0.8 * peak.rps
    carts = ctx.take_carts(int(rate * (ctx.durations.latency + 1)) + 10)
    fixed = asyncio.run(_checkout_at(ctx, port, rate, carts))
    row = ctx.report.add(
        Row(
            "2",
            "checkout, 3-line cart: peak",
            peak.rps,
            ceiling.tps,
            unit="orders/s",
            target=">= 0.5x",
            note=f"p99 {fmt(peak.p99_ms)} ms; {confirmed} orders confirmed, "
            f"{peak.non_2xx} non-2xx, "
            f"{CHECKOUT_CONNECTIONS} connections vs {PGBENCH_CLIENTS} pgbench clients",
            missing=missing(p99=peak.p99_ms),
        )
    )
    row.met = row.ratio is not None and row.ratio >= 0.5 and spare == 0
    p50, p99 = fixed.pct(50), fixed.pct(99)
    latency = ctx.report.add(
        Row(
            "2",
            f"checkout p50 / p99 at 80% of peak ({rate:.0f}/s, fixed rate)",
            p99,
            unit="ms p99",
            target="p99 < 50 ms",
            note=f"p50 {p50:.1f} ms; {fixed.ok} ok, {fixed.errors} errors, "
            f"sent at {fixed.achieved_rate:.1f}/s"
            if p50 is not None
            else "no answers",
        )
    )
    latency.met = p99 is not None and p99 < 50 and fixed.errors == 0
    ctx.report.details["checkout"] = {
        "pgbench": pgbench_summary(ceiling),
        "peak": wrk_summary(peak) | {"confirmed": confirmed, "spare_requests": spare},
        "fixed_rate": {
            "rate": rate,
            "achieved": fixed.achieved_rate,
            "p50_ms": p50,
            "p90_ms": fixed.pct(90),
            "p99_ms": p99,
            "ok": fixed.ok,
            "errors": fixed.errors,
        },
    }
    ctx.report.details["checkout_rps"] = peak.rps


async def _checkout_at(
    ctx: Context, port: int, rate: float, carts: list[tuple[str, str]]
) -> loadgen.LatencyResult:
    host = f"127.0.0.1:{port}"

    def request(k: int) -> bytes:
        customer, cart = carts[k % len(carts)]
        return loadgen.raw_request(
            "POST",
            "/v1/checkout",
            host,
            {
                "Authorization": f"Bearer {ctx.token_for[customer]}",
                "Content-Type": "application/json",
                "Idempotency-Key": cart,
            },
            (capture.CHECKOUT_BODY % cart).encode(),
        )

    return await loadgen.fixed_rate(
        "127.0.0.1", port, request, rate=rate, seconds=ctx.durations.latency
    )


def _spare(raw: str) -> int:
    """Requests wrk sent after its threads ran out of carts (`lua/checkout.lua`'s `done`)."""
    for line in raw.splitlines():
        if line.startswith("spare requests:"):
            return int(line.split(":")[1])
    return 0
