"""Item 3: a flash sale, and whether it sells exactly what there is.

shopcore side: 500 buyers on 500 connections at once, each checking out 1-unit carts of one
SKU with 1,000 units until 409 out-of-stock; the database is checked after: units in
confirmed orders, `on_hand`, `reserved`, `allocated`, available.
Ceiling: pgbench, 20 clients (the API's pool: 10 + 10 overflow), the recorded statements of
a 1-line checkout on **the same row** (its stock raised so every transaction sells).
Target: 0.5x of pgbench or more, and exactly 1,000 units sold, none oversold.

The check reads the database, not the answers: the invariant is that no more is sold than
there is, whatever the buyers were told. pgbench runs after that check, on the same row
with its stock raised, so it never competes with the buyers and never stops for lack of
stock.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from bench import capture, config, loadgen
from bench.backlog import forget_pgbench_events
from bench.context import Context
from bench.database import sql, sql_exec
from bench.dataset import FLASH_SKU
from bench.preparation import FLASH_PGBENCH_CLIENTS
from bench.report import Row, log, pgbench_summary


def run(ctx: Context) -> None:
    log(f"item 3: flash sale, {config.FLASH_BUYERS} buyers for {config.FLASH_UNITS} units")
    port = config.API_PORT
    buyers = [(ctx.token_for[b.id], ctx.data.flash_carts[b.id]) for b in ctx.data.flash_buyers]
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
        sql_exec("UPDATE stock_levels SET on_hand = on_hand + 1000000000 WHERE sku = $1", FLASH_SKU)
    )
    per_client = max(1, config.FLASH_UNITS // FLASH_PGBENCH_CLIENTS)
    ceiling = capture.run_pgbench(
        ctx.scripts["flash"], clients=FLASH_PGBENCH_CLIENTS, transactions=per_client
    )
    asyncio.run(forget_pgbench_events())
    rate = result.sold / result.seconds
    row = ctx.report.add(
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
    ctx.report.details["flash"] = {
        "api": asdict(result),
        "database": check,
        "exactly_sold": exact,
        "pgbench": pgbench_summary(ceiling),
    }


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
