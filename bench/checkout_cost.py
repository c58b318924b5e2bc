"""What one checkout costs the API process, in process, on the data of the last bench run:

    .venv/bin/python -m bench.checkout_cost [N]     # N checkouts of prepared 3-line carts

Prints the CPU milliseconds per checkout (this process's CPU time over N checkouts sent one
after another through the whole app, without a profiler attached, after a warm-up) and the
statements, transactions and round trips of one more checkout, as the bench's recording
counts them (capture.py: through SQLAlchemy and to asyncpg itself). On a shared machine the CPU per
checkout moves much less with the neighbours than a rate does; run it a few times and quote
the load average beside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

import asyncpg

from bench import capture, config
from bench.preparation import tokens
from shopcore.customers.model import Role


async def main(count: int) -> None:
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)

    from apps.api import build_app
    from apps.components import Components
    from apps.settings import Settings

    app = build_app(Components(Settings.from_env(config.api_env())))
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    carts = await conn.fetch(
        "SELECT c.id, c.customer_id FROM carts c JOIN customers u ON u.id = c.customer_id "
        "WHERE c.status = 'open' AND u.email LIKE 'shopper-%' "
        "AND jsonb_array_length(c.body->'lines') = 3 ORDER BY c.id LIMIT $1",
        count + 21,
    )
    await conn.close()
    service = tokens()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):

        async def one(k: int) -> int:
            cart = carts[k]
            token = service.issue(cart["customer_id"], Role.CUSTOMER)
            response = await capture.post_checkout(client, cart["id"], token)
            return int(response.status_code)

        for k in range(count, count + 20):  # warm caches, connections, prepared statements
            await one(k)
        started, wall = time.process_time(), time.perf_counter()
        statuses = [await one(k) for k in range(count)]
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
        with capture.recording() as rec:
            statuses.append(await one(count + 20))
    print(f"{count} checkouts, statuses {sorted(set(statuses))}, load {os.getloadavg()[0]:.2f}")
    print(f"CPU per checkout: {cpu / count * 1000:.2f} ms (wall {wall / count * 1000:.2f} ms)")
    print(
        f"one checkout: {rec.statement_count()} statements, {rec.transaction_count()} "
        f"transactions, {rec.autocommit_count()} in autocommit, {rec.round_trips()} round trips"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
