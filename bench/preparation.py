"""Before any item: the data loaded into shopcore's database and the thin app's, its access
tokens issued, and the pgbench scripts of items 2 and 3 written: the thin app's statements
(`bench/thin_pgbench.py`) and a shopcore checkout's SQL, recorded.

The scripts are recorded, not hand-written (bench/README.md, "How the checkout's SQL is
obtained"): one 3-line and one 1-line checkout go through the real app in this process,
after a warm-up checkout each, and every statement they send becomes the script. pgbench's
clients need carts of their own to move through the version-checked updates, so the
recorded carts are copied first, as they are before the recording: `pgbc-<client>-<n>` for
the checkout, `pgbf-...` for the flash sale. The client counts are fixed here because the
copies are made for them.
"""

from __future__ import annotations

import gc
import time

from redis import Redis

from adapters.http.security import TokenService
from bench import capture, config, dataset, thin_data, thin_pgbench
from bench.context import Context
from bench.database import sql
from bench.dataset import FLASH_SKU
from bench.report import log
from shopcore.customers.model import Role

PGBENCH_CLIENTS = 16
FLASH_PGBENCH_CLIENTS = 20  # the API's pool: 10 connections and 10 more on overflow


def clean_redis() -> None:
    client = Redis.from_url(config.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{config.REDIS_NAMESPACE}*", count=1000))
        # and the hash-tagged ones: `{<stream>}:fed`, `{<namespace>:catalog}:...`
        keys += list(client.scan_iter(match=f"{{{config.REDIS_NAMESPACE}*", count=1000))
        keys += list(client.scan_iter(match="bench:xadd*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def tokens() -> TokenService:
    return TokenService(
        config.JWT_SECRET, issuer="shopcore", audience="shopcore-api", ttl_seconds=3 * 3600
    )


async def prepare(ctx: Context) -> None:
    log("loading the catalog, customers and carts")
    started = time.perf_counter()
    ctx.data = await dataset.load()
    service = tokens()
    people = [*ctx.data.customers, *ctx.data.flash_buyers]
    ctx.token_for = {c.id: service.issue(c.id, Role.CUSTOMER) for c in people}
    ctx.report.details["load_seconds"] = round(time.perf_counter() - started, 1)
    log(f"loaded in {ctx.report.details['load_seconds']} s; filling the thin app's database")
    started = time.perf_counter()
    await thin_data.load(ctx.data)
    await _thin_scripts(ctx)
    ctx.data.carts = []  # written to both databases: no longer needed in this process
    ctx.report.details["thin_load_seconds"] = round(time.perf_counter() - started, 1)
    gc.collect()
    gc.freeze()  # the dataset stays for the whole run: keep it out of every collection
    log(f"filled in {ctx.report.details['thin_load_seconds']} s; recording a checkout's SQL")
    await _record_scripts(ctx)


async def _thin_scripts(ctx: Context) -> None:
    """pgbench's scripts of the thin app's SQL, and the open carts their clients move."""
    per_client = ctx.durations.pgbench_transactions
    flash_per_client = max(1, config.FLASH_UNITS // FLASH_PGBENCH_CLIENTS)
    customer, cart = ctx.data.capture_carts["checkout"]
    await thin_data.copy_carts(cart, "pgbt", PGBENCH_CLIENTS, per_client)
    buyer = ctx.data.flash_buyers[0].id
    await thin_data.copy_carts(
        ctx.data.flash_carts[buyer][0], "pgbtf", FLASH_PGBENCH_CLIENTS, flash_per_client
    )
    scripts = {
        "thin-checkout": thin_pgbench.checkout_script(customer, "pgbt", config.PRODUCTS),
        "thin-flash": thin_pgbench.flash_script(buyer, "pgbtf", FLASH_SKU),
    }
    for name, text in scripts.items():
        path = config.WORK / f"{name}.pgbench.sql"
        path.write_text(text)
        ctx.scripts[name] = path
    steps = thin_pgbench.checkout_steps(["'a'", "'b'", "'c'"], customer=customer, cart_prefix="x")
    bounds = [step for step in steps if step.sql in (thin_pgbench.BEGIN, thin_pgbench.COMMIT)]
    ctx.report.details["thin_sql"] = {
        "statements": len(steps) - len(bounds),
        "transactions": len(bounds) // 2,
        "round_trips": len(steps),
    }


async def _record_scripts(ctx: Context) -> None:
    capture_carts = ctx.data.capture_carts
    per_client = ctx.durations.pgbench_transactions
    flash_per_client = max(1, config.FLASH_UNITS // FLASH_PGBENCH_CLIENTS)
    # pgbench's carts are copies of the recorded carts as they are before the recording.
    await capture.copy_carts(capture_carts["checkout"][1], "pgbc", PGBENCH_CLIENTS, per_client)
    await capture.copy_carts(
        capture_carts["flash"][1], "pgbf", FLASH_PGBENCH_CLIENTS, flash_per_client
    )
    names = ["checkout-warm", "checkout", "flash-warm", "flash"]
    recs = await capture.record_checkouts([capture_carts[n] for n in names], ctx.token_for)
    recordings = dict(zip(names, recs, strict=True))
    customer = capture_carts["checkout"][0]
    lines = await sql(
        "SELECT jsonb_array_elements(body->'lines')->>'sku' AS sku FROM carts WHERE id = $1",
        capture_carts["checkout"][1],
    )
    skus, header = capture.three_line_skus([r["sku"] for r in lines], config.PRODUCTS)
    checkout = capture.Rules(
        cart_id=capture_carts["checkout"][1],
        cart_prefix="pgbc",
        keep={customer},
        skus=skus,
        header=header,
    )
    flash_line = await sql(
        "SELECT body->'lines'->0->>'sku' AS sku FROM carts WHERE id = $1",
        capture_carts["flash"][1],
    )
    flash = capture.Rules(
        cart_id=capture_carts["flash"][1],
        cart_prefix="pgbf",
        keep={customer},
        skus={flash_line[0]["sku"]: f"'{FLASH_SKU}'"},
    )
    for name, rules in (("checkout", checkout), ("flash", flash)):
        path = config.WORK / f"{name}.pgbench.sql"
        path.write_text(capture.pgbench_script(recordings[name], rules))
        ctx.scripts[name] = path
    rec = recordings["checkout"]
    ctx.report.details["checkout_sql"] = {
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
