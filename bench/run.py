"""`make bench`: every figure of issue [5 of 6] against a ceiling measured in the same run.

Order: load the data, record the checkout's SQL, then (one API instance, no worker) reads,
checkout, flash sale, logins under reads; then the worker drains the events those runs left;
then two instances behind nginx; then live stock streams on the two instances; memory last.
Results go to bench/results/latest.md and latest.json; bench/README.md explains each figure.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from redis import Redis

from adapters.http.security import TokenService
from bench import capture, config, dataset, loadgen, procs, wrk
from bench.dataset import FLASH_SKU, Dataset
from shopcore.customers.model import Role

LISTING = "/v1/products"
CHECKOUT_CONNECTIONS = 16
READ_CONNECTIONS = 32
PGBENCH_CLIENTS = 16
FLASH_PGBENCH_CLIENTS = 20  # the API's pool: 10 connections and 10 more on overflow
SSE_STREAMS = 1_000
SSE_SKUS = 10
SSE_ROUNDS = 20


@dataclass
class Row:
    item: str
    measure: str
    shopcore: float | None
    ceiling: float | None = None
    unit: str = "req/s"
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.shopcore is None or not self.ceiling:
            return None
        return self.shopcore / self.ceiling


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        shown = f"{row.shopcore:,.1f}" if row.shopcore is not None else "n/a"
        ceiling = f" vs {row.ceiling:,.1f}" if row.ceiling else ""
        ratio = f" = {row.ratio:.2f}x" if row.ratio is not None else ""
        print(f"  {row.item:<3} {row.measure:<52} {shown} {row.unit}{ceiling}{ratio}", flush=True)
        return row


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- set-up -------------------------------------------------------------------------------
def clean_redis() -> None:
    client = Redis.from_url(config.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{config.REDIS_NAMESPACE}*", count=1000))
        keys += list(client.scan_iter(match="bench:xadd*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def tokens() -> TokenService:
    return TokenService(
        config.JWT_SECRET, issuer="shopcore", audience="shopcore-api", ttl_seconds=3 * 3600
    )


def write_carts(path: Path, carts: list[tuple[str, str]], token_for: dict[str, str]) -> Path:
    path.write_text("".join(f"{token_for[customer]}\t{cart}\n" for customer, cart in carts))
    return path


def has_setting(name: str) -> bool:
    from apps.settings import Settings

    return hasattr(Settings(), name)


async def sql(query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def api_url(port: int, path: str = "") -> str:
    return f"http://127.0.0.1:{port}{path}"


def wrk_get(
    port: int, path: str, seconds: float, connections: int = READ_CONNECTIONS
) -> wrk.WrkResult:
    return wrk.run(api_url(port, path), seconds=seconds, connections=connections)


# -- items ---------------------------------------------------------------------------------
class Bench:
    def __init__(self) -> None:
        self.report = Report()
        self.durations = config.Durations.from_env()
        self.data = Dataset()
        self.procs: dict[str, procs.Proc] = {}
        self.token_for: dict[str, str] = {}
        self.next_cart = 0
        self.scripts: dict[str, Path] = {}
        self.recordings: dict[str, capture.Recording] = {}

    # carts are handed out once each, in order
    def take_carts(self, count: int) -> list[tuple[str, str]]:
        carts = self.data.checkout_carts[self.next_cart : self.next_cart + count]
        self.next_cart += len(carts)
        if len(carts) < count:
            self.report.notes.append(f"ran out of prepared carts ({count} wanted)")
        return carts

    def carts_file(self, name: str, count: int) -> Path:
        return write_carts(config.WORK / f"{name}.tsv", self.take_carts(count), self.token_for)

    def start_api(self, name: str, port: int, **env: str) -> procs.Proc:
        proc = procs.start_api(name, port, config.api_env(**env))
        self.procs[name] = proc
        return proc

    def warm(self, port: int, path: str) -> None:
        wrk.run(api_url(port, path), seconds=self.durations.warmup, connections=8)

    # -- 0: data and the recorded SQL ----------------------------------------------------
    async def prepare(self) -> None:
        log("loading the catalog, customers and carts")
        started = time.perf_counter()
        self.data = await dataset.load()
        service = tokens()
        people = [*self.data.customers, *self.data.flash_buyers]
        self.token_for = {c.id: service.issue(c.id, Role.CUSTOMER) for c in people}
        self.report.details["load_seconds"] = round(time.perf_counter() - started, 1)
        gc.collect()
        gc.freeze()  # the dataset stays for the whole run: keep it out of every collection
        log(f"loaded in {self.report.details['load_seconds']} s; recording a checkout's SQL")
        clients, per_client = PGBENCH_CLIENTS, self.durations.pgbench_transactions
        flash_per_client = max(1, config.FLASH_UNITS // FLASH_PGBENCH_CLIENTS)
        # pgbench's carts are copies of the recorded carts as they are before the recording.
        await capture.copy_carts(
            self.data.capture_carts["checkout"][1], "pgbc", clients, per_client
        )
        await capture.copy_carts(
            self.data.capture_carts["flash"][1], "pgbf", FLASH_PGBENCH_CLIENTS, flash_per_client
        )
        names = ["checkout-warm", "checkout", "flash-warm", "flash"]
        recs = await capture.record_checkouts(
            [self.data.capture_carts[n] for n in names], self.token_for
        )
        self.recordings = dict(zip(names, recs, strict=True))
        customer = self.data.capture_carts["checkout"][0]
        lines = await sql(
            "SELECT jsonb_array_elements(body->'lines')->>'sku' AS sku FROM carts WHERE id = $1",
            self.data.capture_carts["checkout"][1],
        )
        skus, header = capture.three_line_skus([r["sku"] for r in lines], config.PRODUCTS)
        checkout = capture.Rules(
            cart_id=self.data.capture_carts["checkout"][1],
            cart_prefix="pgbc",
            keep={customer},
            skus=skus,
            header=header,
        )
        flash_line = await sql(
            "SELECT body->'lines'->0->>'sku' AS sku FROM carts WHERE id = $1",
            self.data.capture_carts["flash"][1],
        )
        flash = capture.Rules(
            cart_id=self.data.capture_carts["flash"][1],
            cart_prefix="pgbf",
            keep={customer},
            skus={flash_line[0]["sku"]: f"'{FLASH_SKU}'"},
        )
        for name, rec, rules in (
            ("checkout", self.recordings["checkout"], checkout),
            ("flash", self.recordings["flash"], flash),
        ):
            path = config.WORK / f"{name}.pgbench.sql"
            path.write_text(capture.pgbench_script(rec, rules))
            self.scripts[name] = path
        rec = self.recordings["checkout"]
        self.report.details["checkout_sql"] = {
            "transactions": rec.transaction_count(),
            "autocommit_statements": rec.autocommit_count(),
            "statements": rec.statement_count(),
            "round_trips": rec.round_trips(),
            "writes": rec.tables_written(),
        }
        # The recording checkouts wrote events like any other: leave no trace in the outbox
        # count the worker item starts from (they are ordinary rows, relayed with the rest).
        log(
            f"a 3-line checkout is {rec.statement_count()} statements: "
            f"{rec.transaction_count()} transactions and {rec.autocommit_count()} statements "
            f"in autocommit, {rec.round_trips()} round trips"
        )

    # -- 1: reads --------------------------------------------------------------------------
    def reads(self) -> None:
        log("item 1: catalog reads against the bare Litestar ceiling")
        port = config.API_PORT
        detail = self.data.detail_path()
        listing_bytes = procs.get(api_url(port, LISTING))
        detail_bytes = procs.get(api_url(port, detail))
        ceiling_dir = config.WORK / "ceiling"
        ceiling_dir.mkdir(exist_ok=True)
        (ceiling_dir / "listing.json").write_bytes(listing_bytes)
        (ceiling_dir / "detail.json").write_bytes(detail_bytes)
        self.report.details["listing_bytes"] = len(listing_bytes)
        self.report.details["detail_bytes"] = len(detail_bytes)
        env = {**config.api_env(), "BENCH_CEILING_DIR": str(ceiling_dir)}
        argv = [
            str(config.VENV_BIN / "uvicorn"),
            "bench.ceiling_app:app",
            "--port",
            str(config.CEILING_PORT),
            "--no-server-header",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
        env["PYTHONPATH"] = str(config.ROOT)
        ceiling = procs.start("ceiling", argv, env)
        procs.wait_http(api_url(config.CEILING_PORT, "/health/ready"), ceiling)
        try:
            ceil = {}
            for name, path in (("listing", LISTING), ("detail", detail)):
                self.warm(config.CEILING_PORT, path)
                ceil[name] = wrk_get(config.CEILING_PORT, path, self.durations.read)
                assert procs.get(api_url(config.CEILING_PORT, path)) == (
                    listing_bytes if name == "listing" else detail_bytes
                )
        finally:
            ceiling.stop()
        cache = has_setting("catalog_cache_seconds")
        self.report.details["catalog_cache"] = cache
        results: dict[str, Any] = {}
        # Cached: the instance as configured (cache on, when the API has one).
        for name, path in (("listing", LISTING), ("detail", detail)):
            self.warm(port, path)
            results[f"{name}_cached"] = wrk_get(port, path, self.durations.read)
        # Uncached: a second instance with the cache turned off.
        uncached = self.start_api(
            "api-uncached", config.API_PORT_2, SHOPCORE_CATALOG_CACHE_SECONDS="0"
        )
        try:
            for name, path in (("listing", LISTING), ("detail", detail)):
                self.warm(config.API_PORT_2, path)
                results[f"{name}_uncached"] = wrk_get(config.API_PORT_2, path, self.durations.read)
        finally:
            uncached.stop()
        for name in ("listing", "detail"):
            label = "catalog listing (20 items)" if name == "listing" else "product detail"
            cached = results[f"{name}_cached"]
            row = Row(
                "1",
                f"{label}, cached" if cache else f"{label}, no cache in the API",
                cached.rps,
                ceil[name].rps,
                target=">= 0.7x",
                note=f"p99 {_fmt(cached.p99_ms)} ms; ceiling p99 {_fmt(ceil[name].p99_ms)} ms",
            )
            row.met = bool(cache and row.ratio is not None and row.ratio >= 0.7)
            self.report.add(row)
            cold = results[f"{name}_uncached"]
            self.report.add(
                Row(
                    "1",
                    f"{label}, uncached",
                    cold.rps,
                    ceil[name].rps,
                    note=f"p99 {_fmt(cold.p99_ms)} ms",
                )
            )
        self.report.details["reads"] = {k: _wrk(v) for k, v in results.items()} | {
            f"ceiling_{k}": _wrk(v) for k, v in ceil.items()
        }
        self.report.details["listing_rps"] = results["listing_cached"].rps

    # -- 2: checkout -------------------------------------------------------------------------
    def checkout(self) -> None:
        log("item 2: checkout through the API against pgbench of the same statements")
        port = config.API_PORT
        ceiling = capture.run_pgbench(
            self.scripts["checkout"],
            clients=PGBENCH_CLIENTS,
            transactions=self.durations.pgbench_transactions,
        )
        asyncio.run(_forget_pgbench_events())
        cart_file = self.carts_file("checkout-warm", 400)
        wrk.run(
            api_url(port),
            seconds=self.durations.warmup,
            connections=8,
            script=config.BENCH / "lua" / "checkout.lua",
            script_args=[str(cart_file), "1"],
        )
        budget = int(600 * self.durations.checkout)
        cart_file = self.carts_file("checkout-peak", budget)
        before = asyncio.run(_confirmed_orders())
        peak = wrk.run(
            api_url(port),
            seconds=self.durations.checkout,
            connections=CHECKOUT_CONNECTIONS,
            script=config.BENCH / "lua" / "checkout.lua",
            script_args=[str(cart_file), "1"],
        )
        confirmed = asyncio.run(_confirmed_orders()) - before
        spare = _spare(peak.raw)
        rate = 0.8 * peak.rps
        carts = self.take_carts(int(rate * (self.durations.latency + 1)) + 10)
        fixed = asyncio.run(self._checkout_at(port, rate, carts))
        row = self.report.add(
            Row(
                "2",
                "checkout, 3-line cart: peak",
                peak.rps,
                ceiling.tps,
                unit="orders/s",
                target=">= 0.5x",
                note=f"{confirmed} orders confirmed, {peak.non_2xx} non-2xx, "
                f"{CHECKOUT_CONNECTIONS} connections vs {PGBENCH_CLIENTS} pgbench clients",
            )
        )
        row.met = row.ratio is not None and row.ratio >= 0.5 and spare == 0
        p50, p99 = fixed.pct(50), fixed.pct(99)
        latency = self.report.add(
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
        self.report.details["checkout"] = {
            "pgbench": asdict(ceiling) | {"raw": ceiling.raw[-800:]},
            "peak": _wrk(peak) | {"confirmed": confirmed, "spare_requests": spare},
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
        self.report.details["checkout_rps"] = peak.rps

    async def _checkout_at(
        self, port: int, rate: float, carts: list[tuple[str, str]]
    ) -> loadgen.LatencyResult:
        host = f"127.0.0.1:{port}"

        def request(k: int) -> bytes:
            customer, cart = carts[k % len(carts)]
            return loadgen.raw_request(
                "POST",
                "/v1/checkout",
                host,
                {
                    "Authorization": f"Bearer {self.token_for[customer]}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": cart,
                },
                (capture.CHECKOUT_BODY % cart).encode(),
            )

        return await loadgen.fixed_rate(
            "127.0.0.1", port, request, rate=rate, seconds=self.durations.latency
        )

    # -- 3: flash sale --------------------------------------------------------------------------
    def flash_sale(self) -> None:
        log(f"item 3: flash sale, {config.FLASH_BUYERS} buyers for {config.FLASH_UNITS} units")
        port = config.API_PORT
        buyers = [
            (self.token_for[b.id], self.data.flash_carts[b.id]) for b in self.data.flash_buyers
        ]
        result = asyncio.run(
            loadgen.flash_sale(
                "127.0.0.1",
                port,
                buyers,
                body=lambda cart: (capture.CHECKOUT_BODY % cart).encode(),
                key=lambda cart, attempt: f"{cart}-{attempt}",
            )
        )
        check = asyncio.run(_flash_check())
        exact = (
            check["units_sold"] == config.FLASH_UNITS
            and check["available"] == 0
            and check["on_hand"] == config.FLASH_UNITS
            and result.sold == config.FLASH_UNITS
        )
        # pgbench on the same row, given enough stock for every one of its transactions.
        asyncio.run(
            sql_exec(
                "UPDATE stock_levels SET on_hand = on_hand + 1000000000 WHERE sku = $1", FLASH_SKU
            )
        )
        per_client = max(1, config.FLASH_UNITS // FLASH_PGBENCH_CLIENTS)
        ceiling = capture.run_pgbench(
            self.scripts["flash"], clients=FLASH_PGBENCH_CLIENTS, transactions=per_client
        )
        asyncio.run(_forget_pgbench_events())
        rate = result.sold / result.seconds
        row = self.report.add(
            Row(
                "3",
                "flash sale: one SKU, 1,000 units, 500 buyers",
                rate,
                ceiling.tps,
                unit="sales/s",
                target=">= 0.5x; exactly 1,000 sold",
                note=f"sold {check['units_sold']} in {check['orders']} orders, "
                f"oversold {max(0, check['units_sold'] - config.FLASH_UNITS)}, "
                f"available {check['available']}, {result.sold_out_answers} sold-out answers, "
                f"other {result.other or 'none'}",
            )
        )
        row.met = exact and row.ratio is not None and row.ratio >= 0.5
        self.report.details["flash"] = {
            "api": asdict(result),
            "database": check,
            "exactly_sold": exact,
            "pgbench": asdict(ceiling) | {"raw": ceiling.raw[-800:]},
        }

    # -- 8: logins while reading ----------------------------------------------------------------
    def logins(self) -> None:
        log("item 8: catalog reads with and without logins at their CPU ceiling")
        port = config.API_PORT
        rate = max(20.0, 0.25 * self.report.details.get("listing_rps", 200))
        seconds = self.durations.latency
        time.sleep(2)  # let the flash sale's connections and writes settle
        alone = asyncio.run(_reads_at(port, rate, seconds))
        body = json.dumps({"email": self.data.customers[1].email, "password": config.PASSWORD})
        script = config.WORK / "login.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        login_run = subprocess.Popen(
            [
                "wrk",
                "-t1",
                "-c8",
                f"-d{round(seconds) + 3}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(script),
                api_url(port, "/v1/auth/token"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        loaded = asyncio.run(_reads_at(port, rate, seconds))
        out, _ = login_run.communicate()
        logins = wrk.parse(out)
        for label, result in (("alone", alone), ("with logins", loaded)):
            p99 = result.pct(99)
            self.report.add(
                Row(
                    "8",
                    f"catalog listing p99 at {rate:.0f}/s, {label}",
                    p99,
                    unit="ms p99",
                    note=f"p50 {result.pct(50):.1f} ms, {result.errors} errors"
                    if result.pct(50) is not None
                    else "",
                )
            )
        login_row = self.report.add(
            Row(
                "8",
                "logins (argon2id) during those reads",
                logins.rps,
                unit="logins/s",
                target="reads keep their p99",
                note=f"{logins.non_2xx} non-2xx; login p50 {logins.p50_ms or 0:.0f} ms",
            )
        )
        a, b = alone.pct(99), loaded.pct(99)
        # "Keep their p99": at most double (or 10 ms more), and still under 50 ms.
        login_row.met = a is not None and b is not None and b <= max(2 * a, a + 10) and b < 50
        self.report.details["logins"] = {
            "rate": rate,
            "alone": _lat(alone),
            "with_logins": _lat(loaded),
            "logins": _wrk(logins),
        }

    # -- 5: worker ---------------------------------------------------------------------------------
    def worker(self) -> None:
        log("item 5: worker throughput on the events the runs above left in the outbox")
        backlog = asyncio.run(_unpublished())
        proc = procs.start("worker", procs.shopcore("worker"), config.api_env())
        self.procs["worker"] = proc
        started = time.perf_counter()
        relayed_at: float | None = None
        groups_done: dict[str, float] = {}
        client = Redis.from_url(config.REDIS_URL, decode_responses=True)
        deadline = started + 240
        while time.perf_counter() < deadline:
            now = time.perf_counter() - started
            if relayed_at is None and asyncio.run(_unpublished()) == 0:
                relayed_at = now
            if relayed_at is not None:
                try:
                    info = client.xinfo_groups(config.EVENTS_STREAM)
                except Exception:  # the stream may not exist yet
                    info = []
                for group in info:
                    lag = group.get("lag")
                    if group["pending"] == 0 and lag == 0 and group["name"] not in groups_done:
                        groups_done[group["name"]] = now
                if info and len(groups_done) == len(info):
                    break
            time.sleep(0.1)
        client.close()
        xadd = redis_benchmark_xadd()
        relay_rate = backlog / relayed_at if relayed_at else None
        self.report.add(
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
            self.report.add(
                Row(
                    "5",
                    f"handled by group {name}",
                    backlog / done,
                    xadd["rps"],
                    unit="events/s",
                    note=f"caught up {done:.1f} s after start (relay included)",
                )
            )
        self.report.details["worker"] = {
            "backlog": backlog,
            "relayed_seconds": relayed_at,
            "groups_seconds": groups_done,
            "redis_benchmark_xadd": xadd,
        }

    # -- 6: two instances behind nginx -------------------------------------------------------------
    def nginx(self) -> None:
        log("item 6: two API instances behind nginx against one")
        if "worker" in self.procs:  # item 5 ran (BENCH_ITEMS may leave it out)
            self.procs["worker"].stop()
        self.start_api("api-2", config.API_PORT_2)
        ngx = start_nginx()
        self.procs["nginx"] = ngx
        try:
            # One instance again, right before, so both sides see the same machine.
            self.warm(config.API_PORT, LISTING)
            single = wrk_get(config.API_PORT, LISTING, self.durations.read)
            port = config.NGINX_PORT
            self.warm(port, LISTING)
            listing = wrk_get(port, LISTING, self.durations.read)
            cart_file = self.carts_file("checkout-nginx", int(600 * self.durations.checkout))
            before = asyncio.run(_confirmed_orders())
            checkout = wrk.run(
                api_url(port),
                seconds=self.durations.checkout,
                connections=CHECKOUT_CONNECTIONS,
                script=config.BENCH / "lua" / "checkout.lua",
                script_args=[str(cart_file), "1"],
            )
            confirmed = asyncio.run(_confirmed_orders()) - before
        finally:
            ngx.stop()
        one_read = single.rps
        one_checkout = self.report.details.get("checkout_rps")
        self.report.add(
            Row(
                "6",
                "catalog listing: 2 instances + nginx vs 1 instance",
                listing.rps,
                one_read,
                note=f"p99 {_fmt(listing.p99_ms)} ms; the single instance measured just before",
            )
        )
        self.report.add(
            Row(
                "6",
                "checkout: 2 instances + nginx vs 1 instance",
                checkout.rps,
                one_checkout,
                unit="orders/s",
                note=f"{confirmed} orders confirmed, {checkout.non_2xx} non-2xx; "
                "1 instance: item 2's peak",
            )
        )
        self.report.details["nginx"] = {
            "single_listing": _wrk(single),
            "listing": _wrk(listing),
            "checkout": _wrk(checkout),
        }

    # -- 4: live stock ----------------------------------------------------------------------------
    def streams(self) -> None:
        log("item 4: stock change to server-sent event, 1,000 streams on two instances")
        port = config.API_PORT
        probe = f"/v1/inventory/stream?sku={self.data.products[0].variants[0].sku}"
        status = _status_of(port, probe)
        if status != 200:
            self.report.add(
                Row(
                    "4",
                    "stock change to SSE event",
                    None,
                    unit="ms p99",
                    target="p99 < 25 ms",
                    note=f"GET /v1/inventory/stream answers {status}: not measured",
                )
            )
            self.report.details["streams"] = {"status": status}
            return
        if "api-2" not in self.procs:  # run without item 6 (BENCH_ITEMS)
            self.start_api("api-2", config.API_PORT_2)
        worker = procs.start("worker-streams", procs.shopcore("worker"), config.api_env())
        self.procs["worker-streams"] = worker
        _wait_drained(240)
        skus = [self.data.products[10 + k].variants[0].sku for k in range(SSE_SKUS)]
        staff = tokens().issue(str(uuid.uuid4()), Role.STAFF)
        result = asyncio.run(_measure_streams(skus, staff))
        worker.stop()
        p50, p99 = result.pct(50), result.pct(99)
        row = self.report.add(
            Row(
                "4",
                f"stock change to SSE event, {result.opened} streams on 2 instances",
                p99,
                unit="ms p99",
                target="p99 < 25 ms",
                note=f"p50 {p50:.1f} ms; {len(result.latencies_ms)} deliveries timed, "
                "from sending the stock receipt to the event on each stream"
                if p50 is not None
                else f"{result.opened} streams opened, no event timed",
            )
        )
        row.met = p99 is not None and p99 < 25 and result.opened >= SSE_STREAMS
        self.report.details["streams"] = {
            "opened": result.opened,
            "events": result.events,
            "timed": len(result.latencies_ms),
            "p50_ms": p50,
            "p90_ms": result.pct(90),
            "p99_ms": p99,
        }

    # -- 7: memory --------------------------------------------------------------------------------
    def memory(self) -> None:
        for name, proc in self.procs.items():
            if name.startswith("api"):
                peak = proc.rss_peak()
                row = self.report.add(
                    Row(
                        "7",
                        f"peak RSS of {name} (VmHWM)",
                        peak / 1024,
                        unit="MB",
                        target="< 200 MB",
                    )
                )
                row.met = 0 < peak / 1024 < 200

    def note_memory(self, after: str) -> None:
        peaks = {n: p.rss_peak() // 1024 for n, p in self.procs.items() if n.startswith("api")}
        self.report.details.setdefault("rss_mb_after", {})[after] = peaks

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()


# -- helpers -----------------------------------------------------------------------------------
def _wrk(result: wrk.WrkResult) -> dict[str, Any]:
    return {
        "rps": result.rps,
        "requests": result.requests,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
    }


def _lat(result: loadgen.LatencyResult) -> dict[str, Any]:
    return {
        "rate": result.rate,
        "achieved": result.achieved_rate,
        "ok": result.ok,
        "errors": result.errors,
        "p50_ms": result.pct(50),
        "p90_ms": result.pct(90),
        "p99_ms": result.pct(99),
    }


def _spare(raw: str) -> int:
    for line in raw.splitlines():
        if line.startswith("spare requests:"):
            return int(line.split(":")[1])
    return 0


def _status_of(port: int, path: str) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


async def sql_exec(query: str, *args: Any) -> None:
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def _confirmed_orders() -> int:
    rows = await sql("SELECT count(*) AS n FROM orders WHERE status = 'confirmed'")
    return int(rows[0]["n"])


async def _unpublished() -> int:
    rows = await sql("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(rows[0]["n"])


async def _forget_pgbench_events() -> None:
    """pgbench's outbox rows carry recorded payloads; they are not the worker's to relay."""
    await sql_exec("DELETE FROM outbox WHERE event_id LIKE 'pgb%'")


async def _flash_check() -> dict[str, int]:
    level = await sql(
        "SELECT on_hand, reserved, allocated, on_hand - reserved - allocated AS available "
        "FROM stock_levels WHERE sku = $1",
        FLASH_SKU,
    )
    sold = await sql(
        """
        SELECT count(DISTINCT o.id) AS orders, coalesce(sum((l->>'quantity')::int), 0) AS units
        FROM orders o, jsonb_array_elements(o.body->'lines') l
        WHERE o.status = 'confirmed' AND l->>'sku' = $1
        """,
        FLASH_SKU,
    )
    return {
        "on_hand": int(level[0]["on_hand"]),
        "reserved": int(level[0]["reserved"]),
        "allocated": int(level[0]["allocated"]),
        "available": int(level[0]["available"]),
        "orders": int(sold[0]["orders"]),
        "units_sold": int(sold[0]["units"]),
    }


async def _reads_at(port: int, rate: float, seconds: float) -> loadgen.LatencyResult:
    request = loadgen.raw_request("GET", LISTING, f"127.0.0.1:{port}")
    return await loadgen.fixed_rate(
        "127.0.0.1", port, lambda _k: request, rate=rate, seconds=seconds
    )


def _wait_drained(seconds: float) -> None:
    client = Redis.from_url(config.REDIS_URL, decode_responses=True)
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            if asyncio.run(_unpublished()) == 0:
                try:
                    groups = client.xinfo_groups(config.EVENTS_STREAM)
                except Exception:
                    groups = []
                if all(g["pending"] == 0 and g.get("lag") == 0 for g in groups):
                    return
            time.sleep(0.2)
    finally:
        client.close()


async def _measure_streams(skus: list[str], staff_token: str) -> loadgen.StreamsResult:
    targets = [("127.0.0.1", config.API_PORT), ("127.0.0.1", config.API_PORT_2)]
    admin = loadgen.Connection("127.0.0.1", config.API_PORT)

    def trigger(k: int) -> tuple[str, Callable[[], Awaitable[None]]]:
        sku = skus[k % len(skus)]
        body = b'{"quantity": 1}'
        request = loadgen.raw_request(
            "POST",
            f"/v1/admin/inventory/{sku}/receipts",
            f"127.0.0.1:{config.API_PORT}",
            {
                "Authorization": f"Bearer {staff_token}",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            body,
        )

        async def send() -> None:
            status, answer = await admin.request(request)
            if status != 201:
                raise RuntimeError(f"stock receipt failed: {status} {answer[:200]!r}")

        return f'"sku":"{sku}"', send

    paths = [f"/v1/inventory/stream?sku={sku}" for sku in skus]
    try:
        return await loadgen.sse_streams(
            targets, paths, SSE_STREAMS, trigger=trigger, rounds=SSE_ROUNDS
        )
    finally:
        await admin.close()


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


def start_nginx() -> procs.Proc:
    work = config.WORK / "nginx"
    work.mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    upstream shopcore {{
        server 127.0.0.1:{config.API_PORT};
        server 127.0.0.1:{config.API_PORT_2};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{config.NGINX_PORT};
        location / {{
            proxy_pass http://shopcore;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
        }}
    }}
}}
"""
    )
    proc = procs.start("nginx", [procs.nginx_binary(), "-c", str(conf), "-p", str(work)], {})
    procs.wait_http(api_url(config.NGINX_PORT, "/health/live"), proc)
    return proc


# -- output ------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def markdown(report: Report, meta: dict[str, Any]) -> str:
    lines = [
        "# shopcore benchmark: latest run",
        "",
        f"Run {meta['started']} on {meta['machine']}, {meta['duration_s']:.0f} s in all "
        "(`make bench`; see bench/README.md for what each figure measures). Load average "
        f"before {meta['load_average_before'][0]}, after {meta['load_average_after'][0]} "
        "(1 min): on this 2-core machine anything else running skews every figure.",
        "",
        "| # | measure | shopcore | ceiling | ratio | target | met | notes |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for row in report.rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        ceiling = "" if row.ceiling is None else f"{_fmt(row.ceiling)} {row.unit}"
        lines.append(
            f"| {row.item} | {row.measure} | {_fmt(row.shopcore)} {row.unit} | {ceiling} | "
            f"{ratio} | {row.target} | {met} | {row.note} |"
        )
    sql_info = report.details.get("checkout_sql")
    if sql_info:
        lines += [
            "",
            f"A 3-line checkout sends {sql_info['statements']} statements, "
            f"{sql_info.get('autocommit_statements', 0)} of them alone in autocommit and the "
            f"rest in {sql_info['transactions']} transactions: {sql_info['round_trips']} round "
            "trips to PostgreSQL (BEGIN and COMMIT included), which pgbench replays as recorded.",
        ]
    if report.notes:
        lines += ["", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def _others_busy() -> list[str]:
    """Other heavy processes on the machine (a test run beside the bench skews every figure)."""
    out = subprocess.run(["ps", "-eo", "pcpu=,args="], capture_output=True, text=True).stdout
    mine = str(config.WORK)
    busy = []
    for line in out.splitlines():
        cpu, _, args = line.strip().partition(" ")
        if float(cpu or 0) >= 20 and "bench.run" not in args and mine not in args:
            busy.append(f"{cpu}% {args[:80]}")
    return busy


ITEMS = ("reads", "checkout", "flash_sale", "logins", "worker", "nginx", "streams")


def selected(bench: Bench) -> list[Callable[[], None]]:
    """The items to run: all of them, or those named in BENCH_ITEMS (comma-separated, e.g.
    `BENCH_ITEMS=reads,streams`) while working on one; a partial run writes `partial.*`."""
    wanted = [name.strip() for name in os.environ.get("BENCH_ITEMS", "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(ITEMS))
    if unknown:
        raise SystemExit(f"BENCH_ITEMS: unknown {unknown}; known {list(ITEMS)}")
    return [getattr(bench, name) for name in ITEMS if not wanted or name in wanted]


def main() -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    installed = procs.ensure_tools()
    for other in _others_busy():
        print(f"warning: busy beside the bench: {other}", flush=True)
    config.WORK.mkdir(parents=True, exist_ok=True)
    config.RESULTS.mkdir(parents=True, exist_ok=True)
    clean_redis()
    bench = Bench()
    if installed:
        bench.report.notes.append(f"installed {', '.join(installed)} from Debian's packages")
    try:
        asyncio.run(bench.prepare())
        bench.start_api("api-1", config.API_PORT)
        for item in selected(bench):
            item()
            bench.note_memory(item.__name__)
        bench.memory()
    finally:
        bench.stop_all()
        clean_redis()
    meta = {
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "started": stamp,
        "duration_s": time.perf_counter() - started,
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}",
        "quick": bool(os.environ.get("BENCH_QUICK")),
    }
    text = markdown(bench.report, meta)
    stem = "partial" if os.environ.get("BENCH_ITEMS") else "latest"
    (config.RESULTS / f"{stem}.md").write_text(text)
    payload = {
        "meta": meta,
        "rows": [asdict(row) | {"ratio": row.ratio} for row in bench.report.rows],
        "details": bench.report.details,
        "notes": bench.report.notes,
    }
    (config.RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print()
    print(text)
    log(f"done in {meta['duration_s']:.0f} s; wrote bench/results/{stem}.md and {stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
