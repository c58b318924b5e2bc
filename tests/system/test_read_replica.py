"""Catalog reads on a real streaming replica (SHOPCORE_DATABASE_READ_URL), started here: its own
`initdb` primary and a standby made by `pg_basebackup`, on spare ports, run as the `postgres`
user. With the standby's replay paused, a product created on the primary is not listed (the
listing comes from the standby) while the customer's own cart and order read back at once (they
come from the primary); resumed, the product is listed; stopped, the listing still answers,
from the primary."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from adapters.db.migrate import upgrade
from shopcore import CreateProduct, Money, ReceiveStock, Variant
from tests.support.api import Api, api_app, test_settings
from tests.support.ports import free_port
from tests.support.storefront import checkout, filled_cart

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _as_postgres(*command: str) -> None:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*runner, *command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr or done.stdout}"


@dataclass
class Pair:
    primary: str
    standby: str
    standby_port: int
    standby_dir: Path


@pytest.fixture
def pair() -> Iterator[Pair]:
    if BIN is None or (shutil.which("runuser") is None and os.geteuid() == 0):
        pytest.skip("no PostgreSQL server binaries here to start a primary and a standby")
    # Not under pytest's tmp_path: the postgres user may not enter root's directories.
    root = Path(tempfile.mkdtemp(prefix="shopcore-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary_dir, standby_dir = root / "primary", root / "standby"
    primary_port, standby_port = free_port(), free_port()
    options = f"-c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    _as_postgres(f"{BIN}/initdb", "-D", str(primary_dir), "-U", "postgres", "--auth=trust")
    started = []
    try:
        _as_postgres(
            f"{BIN}/pg_ctl", "-D", str(primary_dir), "-w", "-l", str(root / "primary.log"),
            "-o", f"-p {primary_port} {options} -c wal_level=replica", "start",
        )  # fmt: skip
        started.append(primary_dir)
        _as_postgres(
            f"{BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U",
            "postgres", "-D", str(standby_dir), "-R", "-X", "stream",
        )  # fmt: skip
        _as_postgres(
            f"{BIN}/pg_ctl", "-D", str(standby_dir), "-w", "-l", str(root / "standby.log"),
            "-o", f"-p {standby_port} {options} -c hot_standby=on", "start",
        )  # fmt: skip
        started.append(standby_dir)
        primary = f"postgresql+asyncpg://postgres@127.0.0.1:{primary_port}/postgres"
        upgrade(primary)
        standby = f"postgresql+asyncpg://postgres@127.0.0.1:{standby_port}/postgres"
        yield Pair(primary, standby, standby_port, standby_dir)
    finally:
        for directory in reversed(started):
            if (directory / "postmaster.pid").exists():
                _as_postgres(f"{BIN}/pg_ctl", "-D", str(directory), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


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

            _as_postgres(f"{BIN}/pg_ctl", "-D", str(pair.standby_dir), "-m", "fast", "stop")
            await side.shop.handle(_product("third", "REP-3"))
            assert await _listed(client, "third")  # the primary answered, at once
    finally:
        await side.aclose()
