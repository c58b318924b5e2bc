"""Catalog reads on a real streaming replica (SHOPCORE_DATABASE_READ_URL), started here: its own
`initdb` primary and a standby made by `pg_basebackup`, on spare ports, run as the `postgres`
user. With the standby's replay paused, a product created on the primary is not listed (the
listing comes from the standby) while the customer's own cart and order read back at once (they
come from the primary); resumed, the product is listed; stopped, the listing still answers,
from the primary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from adapters.db.migrate import upgrade
from shopcore import CreateProduct, Money, ReceiveStock, Variant
from tests.support.api import Api, api_app, test_settings
from tests.support.replica import Pair, pair_problem, primary_and_standby
from tests.support.storefront import checkout, filled_cart


@pytest.fixture
def pair() -> Iterator[Pair]:
    problem = pair_problem()
    if problem is not None:
        pytest.skip(problem)
    with primary_and_standby() as started:
        upgrade(started.primary)
        yield started


async def _standby_sql(pair: Pair, statement: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=pair.standby_port, user="postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _product(slug: str, sku: str) -> CreateProduct:
    variant = Variant(sku=sku, price=Money(1500, "EUR"))
    return CreateProduct(name=slug, slug=slug, category="replicas", variants=(variant,))


async def _listed(client: httpx.AsyncClient, slug: str) -> bool:
    response = await client.get("/v1/products?category=replicas")
    assert response.status_code == 200, response.text
    return slug in {item["slug"] for item in response.json()["items"]}


async def _until_listed(client: httpx.AsyncClient, slug: str) -> None:
    async with asyncio.timeout(30):
        # Polled: the standby replays on its own schedule, and says nothing when it has.
        while not await _listed(client, slug):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@pytest.mark.postgres
async def test_catalog_reads_come_from_the_replica_and_a_customers_own_from_the_primary(
    pair: Pair,
) -> None:
    settings = test_settings(
        pair.primary, database_read_url=(pair.standby,), catalog_cache_seconds=0
    )
    app, _, side = api_app(settings)
    try:
        async with AsyncTestClient(app) as client:
            api = Api(client=client, app=app, gateway=side.gateway, shop=side.shop)
            await side.shop.handle(_product("first", "REP-1"))
            await side.shop.handle(ReceiveStock(sku="REP-1", quantity=5))
            await _until_listed(client, "first")  # the standby has caught up

            await _standby_sql(pair, "SELECT pg_wal_replay_pause()")
            await side.shop.handle(_product("second", "REP-2"))
            customer = await api.customer()
            cart_id = await filled_cart(api, customer, ("REP-1", 1))
            cart = await client.get(f"/v1/carts/{cart_id}", headers=api.auth(customer))
            placed = await checkout(api, customer, cart_id)
            order = await client.get(
                f"/v1/orders/{placed.json()['id']}", headers=api.auth(customer)
            )
            assert not await _listed(client, "second")  # the paused standby answered

            assert cart.status_code == 200 and cart.json()["lines"][0]["sku"] == "REP-1"
            assert placed.status_code == 201, placed.text
            assert order.status_code == 200 and order.json()["status"] == "confirmed"

            await _standby_sql(pair, "SELECT pg_wal_replay_resume()")
            await _until_listed(client, "second")

            pair.stop_standby()
            await side.shop.handle(_product("third", "REP-3"))
            assert await _listed(client, "third")  # the primary answered, at once
    finally:
        await side.aclose()
