"""The measuring half of `bench/scale_out.py` (imported once bench.config points at the
primary that run started): one API process on the primary directly, then the production
path, and the figures of each side by side.

Rows (S = the production path, 1 = the single process; in each, the single process is the
ceiling column and runs first, seconds before, on the same data):
- CPU per uncached listing and product page: the sum of the 4 API processes' CPU during the
  run over the reads answered, against the single process's. Confirmed when S / 1 <= 1.25:
  the sizing's M2 holds with nginx and the replica in the way.
- CPU per checkout: the same over the orders confirmed. Confirmed when S / 1 <= 1.25 (M1).
- Throughput of each (context: on 2 cores, 4 processes share what 1 had, beside nginx, wrk,
  PgBouncer, 2 workers and 2 PostgreSQL servers).
- Reads served by the standby: transactions the standby counted for the bench's database
  (`pg_stat_database`) against the reads answered. Met at >= 0.9: the catalog reads went
  to the replica.
- Connections to the primary during the checkout peak, sampled every 100 ms, against
  PgBouncer's server budget: met when never above it.
- The backlog the checkouts left, drained by the 2 workers: seconds (context), and met when
  drained at all within the bench's deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench import config, cpu, procs
from bench.backlog import DRAIN_DEADLINE_SECONDS, unpublished, wait_drained
from bench.context import Context
from bench.dataset import load
from bench.preparation import clean_redis, tokens
from bench.report import Report, Row, fmt, log, markdown, missing, run_meta, wrk_summary
from bench.scenarios.nginx import write_config
from bench.traffic import (
    CARTS_PER_CHECKOUT_SECOND,
    CHECKOUT_CONNECTIONS,
    LISTING,
    checkouts,
    confirmed_orders,
    warm,
    wrk_get,
)
from shopcore.customers.model import Role
from tests.support.replica import Pair

API_PROCESSES = 4
WORKERS = 2
# Within this of the single process's CPU per request, the per-process figure holds.
CONFIRMED_WITHIN = 1.25
SINGLE_PORT = config.API_PORT
PORTS = [config.API_PORT + 1 + k for k in range(API_PROCESSES)]


def run(pair: Pair, pooled: str, server_connections: int, load_before: tuple[float, ...]) -> int:
    started, stamp = time.perf_counter(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for tool in procs.ensure_tools():
        log(f"installed {tool}")
    config.WORK.mkdir(parents=True, exist_ok=True)
    clean_redis()
    ctx = Context()
    log("loading the catalog, customers and carts into the primary")
    ctx.data = asyncio.run(load())
    service = tokens()
    people = [*ctx.data.customers, *ctx.data.flash_buyers]
    ctx.token_for = {c.id: service.issue(c.id, Role.CUSTOMER) for c in people}
    standby_dsn = f"postgresql://postgres@127.0.0.1:{pair.standby_port}/{config.PG_DB}"
    asyncio.run(_caught_up(standby_dsn))
    detail = ctx.data.detail_path()
    try:
        single = _single(ctx, detail, _path_env(pair, pooled))
        multi = _production_path(ctx, detail, pair, pooled, server_connections, standby_dsn)
    finally:
        ctx.stop_all()
        clean_redis()
    _rows(ctx.report, single, multi, server_connections)
    meta = run_meta(started, load_before, stamp)
    text = markdown(
        ctx.report,
        meta,
        title="shopcore scale-out run: the production path against one process",
        command="make bench-scale",
    )
    config.RESULTS.mkdir(parents=True, exist_ok=True)
    (config.RESULTS / "scale-out.md").write_text(text)
    payload = {
        "meta": meta,
        "rows": [{"measure": r.measure, "shopcore": r.shopcore, "ceiling": r.ceiling,
                  "ratio": r.ratio, "met": r.verdict, "note": r.note} for r in ctx.report.rows],
        "details": ctx.report.details,
    }  # fmt: skip
    (config.RESULTS / "scale-out.json").write_text(json.dumps(payload, indent=2) + "\n")
    print()
    print(text)
    log(f"done in {meta['duration_s']:.0f} s; wrote bench/results/scale-out.md and .json")
    return 0 if all(row.verdict is not False for row in ctx.report.rows) else 1


# -- the single process ------------------------------------------------------------------------


def _single(ctx: Context, detail: str, path_env: dict[str, str]) -> dict[str, Any]:
    log("one API process on the primary directly (what the sizing's figures come from)")
    api = ctx.start_api("single", SINGLE_PORT, SHOPCORE_CATALOG_CACHE_SECONDS="0")
    figures = {
        "listing": _reads(ctx, SINGLE_PORT, LISTING, [api]),
        "detail": _reads(ctx, SINGLE_PORT, detail, [api]),
        "checkout": _checkouts(ctx, SINGLE_PORT, "single", [api]),
    }
    api.stop()
    del ctx.procs["single"]
    log("one API process through PgBouncer: what the pooler alone costs a checkout")
    pooled = procs.start_api("single-pooled", SINGLE_PORT, path_env)
    ctx.procs["single-pooled"] = pooled
    figures["checkout_pooled"] = _checkouts(ctx, SINGLE_PORT, "single-pooled", [pooled])
    pooled.stop()
    del ctx.procs["single-pooled"]
    return figures


def _path_env(pair: Pair, pooled: str) -> dict[str, str]:
    """The production path's settings: the primary through PgBouncer, catalog reads on the
    standby, no catalog cache (every read reaches the database)."""
    database = make_url(pooled).set(database=config.PG_DB).render_as_string(hide_password=False)
    replica = make_url(pair.standby).set(database=config.PG_DB)
    return config.api_env(
        SHOPCORE_DATABASE_URL=database,
        SHOPCORE_DATABASE_TRANSACTION_POOLER="true",
        SHOPCORE_DATABASE_READ_URL=replica.render_as_string(hide_password=False),
        SHOPCORE_CATALOG_CACHE_SECONDS="0",
    )


# -- the production path -----------------------------------------------------------------------


def _production_path(
    ctx: Context,
    detail: str,
    pair: Pair,
    pooled: str,
    server_connections: int,
    standby_dsn: str,
) -> dict[str, Any]:
    log(
        f"{API_PROCESSES} API processes behind nginx, {WORKERS} workers, reads on the standby, "
        f"the primary through PgBouncer ({server_connections} server connections)"
    )
    env = _path_env(pair, pooled)
    apis = []
    for k, port in enumerate(PORTS):
        apis.append(procs.start_api(f"api-{k + 1}", port, env))
        ctx.procs[f"api-{k + 1}"] = apis[-1]
    for k in range(WORKERS):
        ctx.procs[f"worker-{k + 1}"] = procs.start(f"worker-{k + 1}", procs.shopcore("worker"), env)
    work = config.WORK / "nginx"
    work.mkdir(parents=True, exist_ok=True)
    conf = write_config(
        work,
        listen=f"127.0.0.1:{config.NGINX_PORT}",
        upstreams=[f"127.0.0.1:{port}" for port in PORTS],
    )
    nginx = procs.start("nginx", [procs.nginx_binary(), "-c", str(conf), "-p", str(work)], {})
    ctx.procs["nginx"] = nginx
    procs.wait_http(f"http://127.0.0.1:{config.NGINX_PORT}/health/ready", nginx)
    # Let the workers relay and handle what the single process's checkouts left, so that the
    # drain timed below is this run's.
    wait_drained(DRAIN_DEADLINE_SECONDS)

    standby_before = asyncio.run(_transactions(standby_dsn))
    figures: dict[str, Any] = {
        "listing": _reads(ctx, config.NGINX_PORT, LISTING, apis),
        "detail": _reads(ctx, config.NGINX_PORT, detail, apis),
    }
    sampler = _ConnectionSampler(config.ASYNCPG_DSN)
    figures["checkout"] = _checkouts(ctx, config.NGINX_PORT, "scale", apis, sampler)
    figures["primary_connections"] = sampler.most
    drain_started = time.perf_counter()
    wait_drained(DRAIN_DEADLINE_SECONDS)
    left = asyncio.run(unpublished())
    figures["drain_s"] = time.perf_counter() - drain_started
    figures["unpublished_after_drain"] = left
    # The standby counts a backend's transactions when it reports them: at the latest 10 s
    # after its last one (PostgreSQL's idle statistics interval). The reads ended before the
    # checkouts; wait out what is left of those 10 s.
    time.sleep(max(0.0, 11 - (time.perf_counter() - figures["checkout"]["ended"])))
    figures["standby_transactions"] = asyncio.run(_transactions(standby_dsn)) - standby_before
    return figures


# -- measuring -----------------------------------------------------------------------------------


def _reads(ctx: Context, port: int, path: str, servers: list[procs.Proc]) -> dict[str, Any]:
    warm(port, path, ctx.durations)
    before = sum(server.cpu_seconds() for server in servers)
    result = wrk_get(port, path, ctx.durations.read)
    after = sum(server.cpu_seconds() for server in servers)
    answered = result.requests - result.non_2xx
    return {
        "rps": result.rps,
        "answered": answered,
        "non_2xx": result.non_2xx,
        "cpu_ms": cpu.ms_per(before, after, answered),
        "wrk": wrk_summary(result),
    }


def _checkouts(
    ctx: Context,
    port: int,
    name: str,
    servers: list[procs.Proc],
    sampler: _ConnectionSampler | None = None,
) -> dict[str, Any]:
    """A checkout peak through `port`; the primary's connections sampled during wrk's run
    only (the bench's own count of orders around it is not the shop's)."""
    carts = ctx.carts_file(name, int(CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout))
    confirmed_before = asyncio.run(confirmed_orders())
    before = sum(server.cpu_seconds() for server in servers)
    if sampler is not None:
        sampler.start()
    try:
        result = checkouts(port, carts, ctx.durations.checkout, CHECKOUT_CONNECTIONS)
    finally:
        if sampler is not None:
            sampler.stop()
    after = sum(server.cpu_seconds() for server in servers)
    confirmed = asyncio.run(confirmed_orders()) - confirmed_before
    return {
        "rps": confirmed / ctx.durations.checkout,
        "confirmed": confirmed,
        "non_2xx": result.non_2xx,
        "cpu_ms": cpu.ms_per(before, after, confirmed),
        "wrk": wrk_summary(result),
        "ended": time.perf_counter(),
    }


async def _caught_up(standby_dsn: str) -> None:
    """Wait until the standby has replayed everything the load wrote on the primary."""
    primary = await asyncpg.connect(config.ASYNCPG_DSN)
    standby = await asyncpg.connect(standby_dsn)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        check = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
        async with asyncio.timeout(120):
            # Polled: the standby says nothing when it has replayed up to a point.
            while await standby.fetchval(check, target) is not True:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
    finally:
        await primary.close()
        await standby.close()


async def _transactions(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            config.PG_DB,
        )
    finally:
        await connection.close()
    return int(value)


class _ConnectionSampler:
    """The most connections the primary held for the bench's database at once, its own left
    out, sampled every 100 ms on a thread of its own."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._done = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._sample()), daemon=True)
        self.most = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(10)

    async def _sample(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            while not self._done.is_set():
                count = await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    config.PG_DB,
                )
                self.most = max(self.most, int(count))
                await asyncio.sleep(0.1)
        finally:
            await connection.close()


# -- the table -----------------------------------------------------------------------------------


def _rows(
    report: Report, single: dict[str, Any], multi: dict[str, Any], server_connections: int
) -> None:
    report.details.update(single=single, production_path=multi)
    for key, what in (("listing", "uncached listing"), ("detail", "uncached product page")):
        one, many = single[key], multi[key]
        report.add(
            _cpu_row(
                f"CPU per {what}: 4 processes via nginx + replica vs 1 process",
                many,
                one,
                f"{many['answered']:,} and {one['answered']:,} reads; "
                f"{many['non_2xx']} and {one['non_2xx']} non-2xx",
            )
        )
        report.add(
            Row(
                "S",
                f"{what}: 4 processes via nginx + replica vs 1 process (context)",
                many["rps"],
                one["rps"],
                note=f"p99 {fmt(many['wrk'].get('p99_ms'))} ms; 1 process p99 "
                f"{fmt(one['wrk'].get('p99_ms'))} ms",
            )
        )
    one, pooled, many = single["checkout"], single["checkout_pooled"], multi["checkout"]
    report.add(
        _cpu_row(
            "CPU per checkout: 1 process through PgBouncer vs 1 process directly",
            pooled,
            one,
            f"{pooled['confirmed']:,} and {one['confirmed']:,} orders confirmed; what the "
            "pooler costs: no prepared statement kept, every read inside a transaction",
            target=False,
        )
    )
    report.add(
        _cpu_row(
            "CPU per checkout: 4 processes via nginx + PgBouncer vs 1 process through PgBouncer",
            many,
            pooled,
            "the per-process figure on the same path, scaled out",
        )
    )
    report.add(
        _cpu_row(
            "CPU per checkout: 4 processes via nginx + PgBouncer vs 1 process directly (M1)",
            many,
            one,
            f"{many['confirmed']:,} and {one['confirmed']:,} orders confirmed; "
            f"{many['non_2xx']} and {one['non_2xx']} non-2xx",
        )
    )
    report.add(
        Row(
            "S",
            "checkout: 4 processes via nginx + PgBouncer vs 1 process (context)",
            many["rps"],
            one["rps"],
            unit="orders/s",
            note=f"p99 {fmt(many['wrk'].get('p99_ms'))} ms; 1 process p99 "
            f"{fmt(one['wrk'].get('p99_ms'))} ms; 2 workers running beside the 4",
        )
    )
    reads = multi["listing"]["answered"] + multi["detail"]["answered"]
    report.add(
        Row(
            "S",
            "transactions on the standby vs catalog reads answered",
            multi["standby_transactions"],
            reads,
            unit="",
            target=">= 0.9x",
            met=multi["standby_transactions"] >= 0.9 * reads,
            note="pg_stat_database of the standby over the read runs",
        )
    )
    report.add(
        Row(
            "S",
            "most connections to the primary during the checkout peak",
            multi["primary_connections"],
            server_connections,
            unit="",
            target="<= PgBouncer's budget",
            met=multi["primary_connections"] <= server_connections,
            note=f"sampled every 100 ms; without PgBouncer 4 processes may open "
            f"{API_PROCESSES * 20} and each worker its own pool",
        )
    )
    report.add(
        Row(
            "S",
            "backlog of the checkout peak drained by 2 workers",
            multi["drain_s"],
            unit="s",
            target="drained",
            met=multi["unpublished_after_drain"] == 0,
            note=f"{multi['unpublished_after_drain']} outbox rows left unpublished",
        )
    )


def _cpu_row(
    measure: str, many: dict[str, Any], one: dict[str, Any], note: str, *, target: bool = True
) -> Row:
    """CPU per request of `many` against `one`; confirmed within CONFIRMED_WITHIN (`target`)."""
    return Row(
        "S",
        measure,
        many["cpu_ms"],
        one["cpu_ms"],
        unit="CPU ms",
        target=f"<= {CONFIRMED_WITHIN}x" if target else "",
        met=_within(many["cpu_ms"], one["cpu_ms"]) if target else None,
        note=note,
        missing=missing(cpu=many["cpu_ms"], single_cpu=one["cpu_ms"]),
    )


def _within(many: float | None, one: float | None) -> bool | None:
    if many is None or not one:
        return None
    return many / one <= CONFIRMED_WITHIN
