"""Profile one hot path in process with pyinstrument, on the data of the last bench run:

    .venv/bin/python -m bench.profile checkout [N]   # N checkouts of prepared 3-line carts
    .venv/bin/python -m bench.profile listing [N]    # N catalog listings (cache off)
    .venv/bin/python -m bench.profile cached [N]     # N catalog listings (cache on, Redis)
    .venv/bin/python -m bench.profile detail [N]     # N product pages (cache off)

Requests go through the whole app (middleware, routing, the bus, SQL) on this event loop
(httpx's ASGI transport), one after another, so the profile shows CPU per request, not
waiting. PROFILE_ALL=1 shows library frames too. For a live process under load use py-spy:
`.venv/bin/py-spy record -p PID -f raw -o out.txt`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import asyncpg
from pyinstrument import Profiler

from bench import capture, config
from bench.preparation import tokens
from shopcore.customers.model import Role


async def main(path: str, count: int) -> None:
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns the profile

    from apps.api import build_app
    from apps.components import Components
    from apps.settings import Settings

    env = (
        config.api_env() if path == "cached" else config.api_env(SHOPCORE_CATALOG_CACHE_SECONDS="0")
    )
    app = build_app(Components(Settings.from_env(env)))
    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    carts = await conn.fetch(
        "SELECT c.id, c.customer_id FROM carts c JOIN customers u ON u.id = c.customer_id "
        "WHERE c.status = 'open' AND u.email LIKE 'shopper-%' "
        "AND jsonb_array_length(c.body->'lines') = 3 ORDER BY c.id DESC LIMIT $1",
        count + 5,
    )
    products = await conn.fetch(
        "SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT $1", count + 5
    )
    await conn.close()
    service = tokens()
    profiler = Profiler(async_mode="enabled", interval=0.0005)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):

        async def one(k: int) -> int:
            if path in ("listing", "cached"):
                return (await client.get("/v1/products")).status_code
            if path == "detail":
                return (await client.get(f"/v1/products/{products[k]['id']}")).status_code
            cart = carts[k]
            token = service.issue(cart["customer_id"], Role.CUSTOMER)
            response = await capture.post_checkout(client, cart["id"], token)
            return int(response.status_code)

        for k in range(5):  # warm caches and connections
            await one(count + k)
        profiler.start()
        statuses = [await one(k) for k in range(count)]
        profiler.stop()
    print(f"{count} x {path}: statuses {sorted(set(statuses))}")
    profiler.print(show_all=bool(os.environ.get("PROFILE_ALL")), short_mode=False)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "checkout"
    asyncio.run(main(what, int(sys.argv[2]) if len(sys.argv) > 2 else 50))
