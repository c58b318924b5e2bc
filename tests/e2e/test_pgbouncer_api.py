"""The API behind a real PgBouncer in transaction mode (SHOPCORE_DATABASE_TRANSACTION_POOLER):
checkouts, their replays and catalog reads work while many more client connections than server
connections take turns, and the database sees no more connections than the pooler's budget.
The contract suites run through the same PgBouncer (tests/contracts, backend `pgbouncer`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shopcore import CreateProduct, Money, ReceiveStock, Variant
from tests.support.api import Api, api_app, test_settings
from tests.support.databases import drop_postgres, require_postgres, scratch_postgres
from tests.support.pgbouncer import SERVER_CONNECTIONS, pgbouncer_in_front_of
from tests.support.storefront import checkout, filled_cart, new_key, served

pytestmark = pytest.mark.postgres


@pytest.fixture
async def behind() -> AsyncIterator[tuple[Api, str]]:
    # A database of its own: the connections counted are then the pooler's alone (the
    # session's database also serves the other e2e tests' apps).
    require_postgres()
    direct = scratch_postgres()
    try:
        with pgbouncer_in_front_of(direct) as pooled:
            settings = test_settings(
                pooled, database_transaction_pooler=True, database_pool_size=10
            )
            app, gateway, side = api_app(settings)
            try:
                async with served(app) as client:
                    yield Api(client=client, app=app, gateway=gateway, shop=side.shop), direct
            finally:
                await side.aclose()
    finally:
        drop_postgres(direct)


async def server_connections(postgres_url: str) -> int:
    """Connections the database holds for the shop's database, this one left out."""
    url = make_url(postgres_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
    finally:
        await connection.close()
    return count


async def test_checkouts_and_reads_work_behind_a_transaction_pooler_within_its_budget(
    behind: tuple[Api, str],
) -> None:
    api, direct = behind
    skus = [f"PGB-{n}" for n in range(3)]
    await api.shop.handle(
        CreateProduct(
            name="Pooled",
            slug="pooled",
            category="pooled",
            variants=tuple(Variant(sku=sku, price=Money(1000, "EUR")) for sku in skus),
        )
    )
    for sku in skus:
        await api.shop.handle(ReceiveStock(sku=sku, quantity=100))
    customers = [await api.customer() for _ in range(12)]
    carts = [await filled_cart(api, c, *((sku, 1) for sku in skus)) for c in customers]
    keys = [new_key() for _ in customers]
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, await server_connections(direct))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        placed = await asyncio.gather(
            *(
                checkout(api, c, cart, key=k)
                for c, cart, k in zip(customers, carts, keys, strict=True)
            ),
            *(api.client.get("/v1/products?category=pooled") for _ in range(12)),
        )
        replays = await asyncio.gather(
            *(
                checkout(api, c, cart, key=k)
                for c, cart, k in zip(customers, carts, keys, strict=True)
            )
        )
    finally:
        watcher.cancel()

    assert [answer.status_code for answer in placed] == [201] * 12 + [200] * 12
    assert [answer.json()["id"] for answer in replays] == [a.json()["id"] for a in placed[:12]]
    assert all(answer.headers["idempotent-replayed"] == "true" for answer in replays)
    stock = await api.client.get(f"/v1/inventory/{skus[0]}")
    assert stock.json()["available"] == 100 - 12
    # The budget: the pooler's server connections, however many client connections the API
    # (a pool of up to 20, with 24 requests at once) and the side shop opened.
    assert 0 < peak <= SERVER_CONNECTIONS, peak
