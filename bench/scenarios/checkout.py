"""Item 2: checkout of a 3-line cart, at its peak and at a fixed rate below it.

shopcore side: wrk with `lua/checkout.lua`, 16 connections, each request a cart of its own
and its own `Idempotency-Key`; then p50/p99 at 80 % of that peak with the fixed-rate
generator (`bench/loadgen.py`, open loop: a stall shows in the percentiles).
Ceiling: the thin app (`bench/thin_app.py`) under the same wrk driver and connections, on
its own copy of the same carts, served as the API is; one checkout of each is compared first
(same JSON shape of the order).
Targets: the peak at 0.5x of the thin app's or more, with no cart left unused by wrk; a p99
under 50 ms at 80 % of shopcore's own peak, with no errors. Beside them: CPU milliseconds per
checkout of the API process and of the thin app, over their peak runs, and of the local
PostgreSQL server during each (both apps share the machine's cores with it).
Context (no target): pgbench `-M prepared`, 16 clients, running the thin app's statements
(`bench/thin_pgbench.py`: the database's own pace for them), and running the **recorded
statements** of one shopcore checkout (`bench/capture.py`: the database's pace for shopcore's
SQL, which says how much of the gap is round trips and how much Python).

pgbench runs first; the outbox rows it wrote in shopcore's database are deleted: they carry
recorded payloads, not events of this run for item 5 to relay. The peak is what item 6
compares two instances with (`checkout_rps`).
"""

from __future__ import annotations

import asyncio
import time

from bench import capture, config, cpu, loadgen, shapes
from bench.backlog import forget_pgbench_events
from bench.context import Context
from bench.preparation import PGBENCH_CLIENTS
from bench.report import Row, fmt, log, missing, pgbench_summary, wrk_summary
from bench.traffic import (
    CARTS_PER_CHECKOUT_SECOND,
    CHECKOUT_CONNECTIONS,
    THIN_CARTS_PER_CHECKOUT_SECOND,
    WARMUP_CONNECTIONS,
    Peak,
    checkouts,
    peak_checkouts,
)


def run(ctx: Context) -> None:
    log("item 2: checkout through the API against the thin app (and pgbench, for context)")
    port = config.API_PORT
    transactions = ctx.durations.pgbench_transactions
    thin_sql = capture.run_pgbench(
        ctx.scripts["thin-checkout"],
        clients=PGBENCH_CLIENTS,
        transactions=transactions,
        database=config.THIN_DB,
    )
    recorded_sql = capture.run_pgbench(
        ctx.scripts["checkout"], clients=PGBENCH_CLIENTS, transactions=transactions
    )
    asyncio.run(forget_pgbench_events())
    thin, thin_order = _thin_peak(ctx)
    shopcore_order = asyncio.run(_one_checkout(ctx, port, ctx.take_carts(1)[0]))
    differs = shapes.compare(shopcore_order, thin_order)
    thin_spare = _spare(thin.result.raw)
    if thin_spare:
        differs.append(f"the thin app's wrk run ran out of carts ({thin_spare} spare requests)")
    checkouts(port, ctx.carts_file("checkout-warm", 400), ctx.durations.warmup, WARMUP_CONNECTIONS)
    budget = int(CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout)
    api = ctx.procs["api-1"]
    peak = peak_checkouts(port, ctx.carts_file("checkout-peak", budget), ctx.durations, api)
    spare = _spare(peak.result.raw)
    rate = 0.8 * peak.result.rps
    carts = ctx.take_carts(int(rate * (ctx.durations.latency + 1)) + 10)
    # What the fixed rate costs each process per answer, beside the peak's: a rate the machine
    # cannot keep shows up here first (more CPU per checkout at lower concurrency, or a sender
    # that takes the CPU the shop needs).
    before = (api.cpu_seconds(), cpu.database_seconds(), time.process_time())
    fixed = asyncio.run(_checkout_at(ctx, port, rate, carts))
    after = (api.cpu_seconds(), cpu.database_seconds(), time.process_time())
    fixed_cpu = [
        cpu.ms_per(b, a, fixed.ok) if b is not None and a is not None else None
        for b, a in zip(before, after, strict=True)
    ]
    _peak_row(ctx, peak, thin, spare, differs)
    p50, p99 = fixed.pct(50), fixed.pct(99)
    latency = ctx.report.add(
        Row(
            "2",
            f"checkout p50 / p99 at 80% of shopcore's peak ({rate:.0f}/s, fixed rate)",
            p99,
            unit="ms p99",
            target="p99 < 50 ms",
            note=f"p50 {p50:.1f} ms; {fixed.ok} ok, {fixed.errors} errors, "
            f"sent at {fixed.achieved_rate:.1f}/s; CPU ms per answer: API "
            f"{_ms(fixed_cpu[0])}, PostgreSQL {_ms(fixed_cpu[1])}, the sender {_ms(fixed_cpu[2])}"
            if p50 is not None
            else "no answers",
        )
    )
    latency.met = p99 is not None and p99 < 50 and fixed.errors == 0
    ctx.report.add(
        Row(
            "2",
            "CPU per checkout: API process vs thin app",
            peak.cpu_ms,
            thin.cpu_ms,
            unit="CPU ms",
            note="lower is better; ratio = shopcore / thin; over each peak run, "
            "per confirmed order",
            missing=missing(thin_cpu=thin.cpu_ms),
        )
    )
    ctx.report.add(
        Row(
            "2",
            "CPU per checkout: PostgreSQL vs for the thin app",
            peak.database_cpu_ms,
            thin.database_cpu_ms,
            unit="CPU ms",
            note="lower is better; every process of the local server, its background work "
            "included, over each peak run, per confirmed order",
            missing=missing(
                database_cpu=peak.database_cpu_ms, thin_database_cpu=thin.database_cpu_ms
            ),
        )
    )
    ctx.report.add(
        Row(
            "2",
            "context: thin app's checkout vs pgbench of its SQL",
            thin.result.rps,
            thin_sql.tps,
            unit="orders/s",
            note=f"pgbench -M prepared, {PGBENCH_CLIENTS} clients, {thin_sql.failed} failed",
        )
    )
    ctx.report.add(
        Row(
            "2",
            "context: pgbench of shopcore's recorded SQL vs of the thin app's",
            recorded_sql.tps,
            thin_sql.tps,
            unit="tx/s",
            note="the database's pace for each app's statements; "
            f"{recorded_sql.failed} and {thin_sql.failed} failed",
        )
    )
    ctx.report.details["checkout"] = {
        "pgbench_thin_sql": pgbench_summary(thin_sql),
        "pgbench_recorded_sql": pgbench_summary(recorded_sql),
        "thin": wrk_summary(thin.result)
        | {
            "confirmed": thin.confirmed,
            "cpu_ms": thin.cpu_ms,
            "database_cpu_ms": thin.database_cpu_ms,
        },
        "peak": wrk_summary(peak.result)
        | {
            "confirmed": peak.confirmed,
            "spare_requests": spare,
            "cpu_ms": peak.cpu_ms,
            "database_cpu_ms": peak.database_cpu_ms,
        },
        "same_order_shape": not differs,
        "order_shape_differences": differs,
        "fixed_rate": {
            "rate": rate,
            "achieved": fixed.achieved_rate,
            "p50_ms": p50,
            "p90_ms": fixed.pct(90),
            "p99_ms": p99,
            "ok": fixed.ok,
            "errors": fixed.errors,
            "cpu_ms": fixed_cpu[0],
            "database_cpu_ms": fixed_cpu[1],
            "sender_cpu_ms": fixed_cpu[2],
        },
    }
    ctx.report.details["checkout_rps"] = peak.result.rps


def _thin_peak(ctx: Context) -> tuple[Peak, bytes]:
    """The thin app's peak under the same driver, and one order it answered."""
    thin_port = config.THIN_PORT
    proc = ctx.start_thin()
    try:
        order = asyncio.run(_one_checkout(ctx, thin_port, ctx.take_carts(1, thin=True)[0]))
        warm = ctx.carts_file("thin-checkout-warm", 400, thin=True)
        checkouts(thin_port, warm, ctx.durations.warmup, WARMUP_CONNECTIONS)
        budget = int(THIN_CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout)
        carts = ctx.carts_file("thin-checkout-peak", budget, thin=True)
        peak = peak_checkouts(thin_port, carts, ctx.durations, proc, dsn=config.THIN_DSN)
    finally:
        proc.stop()
    return peak, order


def _peak_row(ctx: Context, peak: Peak, thin: Peak, spare: int, differs: list[str]) -> None:
    result = peak.result
    note = (
        f"p99 {fmt(result.p99_ms)} ms, thin p99 {fmt(thin.result.p99_ms)} ms; "
        f"{peak.confirmed} and {thin.confirmed} orders confirmed, "
        f"{result.non_2xx} and {thin.result.non_2xx} non-2xx; "
        f"{CHECKOUT_CONNECTIONS} connections each"
    )
    if differs:
        note += f"; **thin app not comparable: {'; '.join(differs[:2])}**"
    row = ctx.report.add(
        Row(
            "2",
            "checkout, 3-line cart: peak vs thin app",
            result.rps,
            thin.result.rps,
            unit="orders/s",
            target=">= 0.5x",
            note=note,
            missing=missing(p99=result.p99_ms, thin_p99=thin.result.p99_ms),
        )
    )
    row.met = row.ratio is not None and row.ratio >= 0.5 and spare == 0 and not differs


async def _one_checkout(ctx: Context, port: int, cart: tuple[str, str]) -> bytes:
    """One checkout's answer (the order), to compare the two apps' JSON."""
    customer, cart_id = cart
    conn = loadgen.Connection("127.0.0.1", port)
    try:
        status, body = await conn.request(_request(ctx, port, customer, cart_id))
    finally:
        await conn.close()
    if status != 201:
        raise RuntimeError(f"checkout on port {port} answered {status}: {body[:300]!r}")
    return body


def _request(ctx: Context, port: int, customer: str, cart: str) -> bytes:
    return loadgen.raw_request(
        "POST",
        "/v1/checkout",
        f"127.0.0.1:{port}",
        {
            "Authorization": f"Bearer {ctx.token_for[customer]}",
            "Content-Type": "application/json",
            "Idempotency-Key": cart,
        },
        (capture.CHECKOUT_BODY % cart).encode(),
    )


async def _checkout_at(
    ctx: Context, port: int, rate: float, carts: list[tuple[str, str]]
) -> loadgen.LatencyResult:
    def request(k: int) -> bytes:
        customer, cart = carts[k % len(carts)]
        return _request(ctx, port, customer, cart)

    return await loadgen.fixed_rate(
        "127.0.0.1", port, request, rate=rate, seconds=ctx.durations.latency
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _spare(raw: str) -> int:
    """Requests wrk sent after its threads ran out of carts (`lua/checkout.lua`'s `done`)."""
    for line in raw.splitlines():
        if line.startswith("spare requests:"):
            return int(line.split(":")[1])
    return 0
