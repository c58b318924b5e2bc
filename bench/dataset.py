"""The bench's data, written straight into the app's tables through the app's own mappers
(so the API serves it exactly as if it had been created through the API, only faster):
10,000 products with two variants each and their stock, customers with a real argon2id
hash, and one open 3-line cart per checkout request the bench will send."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from adapters.db.mappers import CART, CUSTOMER, PRODUCT, variant_rows
from adapters.db.migrate import upgrade_async
from adapters.security.argon2_hasher import Argon2Hasher
from bench import config
from shopcore.cart.model import Cart, CartLine, CartStatus
from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.customers.model import Customer, Role
from shopcore.inventory.model import DEFAULT_LOCATION
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money

CATEGORIES = [f"category-{n:02d}" for n in range(20)]
FLASH_SKU = "FLASH-1"
ON_HAND = 1_000_000


def sku_of(product: int, variant: int) -> str:
    return f"B-{product:05d}-{'ML'[variant]}"


@dataclass
class Dataset:
    products: list[Product] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    # (customer id, cart id) of each prepared checkout cart, in the order they are handed out
    checkout_carts: list[tuple[str, str]] = field(default_factory=list)
    flash_buyers: list[Customer] = field(default_factory=list)
    flash_carts: dict[str, list[str]] = field(default_factory=dict)  # customer id -> carts
    capture_carts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (cust, cart)
    flash_product_id: str = ""
    # Every cart written, and the flash product: the thin app's database is filled from them.
    carts: list[Cart] = field(default_factory=list)
    flash_product: Product | None = None

    def detail_path(self) -> str:
        return f"/v1/products/{self.products[len(self.products) // 2].id}"


async def recreate_database(name: str) -> None:
    """Drop the database `name` (ending its sessions first) and create it empty."""
    admin = await asyncpg.connect(
        host=config.PG_HOST, port=config.PG_PORT, user=config.PG_USER, database=config.PG_ADMIN_DB
    )
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def reset_database() -> None:
    await recreate_database(config.PG_DB)
    await upgrade_async(config.DATABASE_URL)


def _rows(values: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(_pg(row[c]) for c in columns) for row in values]


def _pg(value: Any) -> Any:
    # Documents (dict/list) go in as JSON text, the way the app's JSONB binds them.
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return value


async def _copy(conn: asyncpg.Connection, table: str, values: list[dict[str, Any]]) -> None:
    if not values:
        return
    columns = list(values[0])
    types = {
        r["column_name"]: r["data_type"]
        for r in await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name=$1",
            table,
        )
    }
    rows = _rows(values, columns)
    if any(types[c] == "jsonb" for c in columns):
        # COPY's binary format wants jsonb encoded; go through a text staging table instead.
        placeholders = ", ".join(
            f"${i + 1}::jsonb" if types[c] == "jsonb" else f"${i + 1}"
            for i, c in enumerate(columns)
        )
        await conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )
    else:
        await conn.copy_records_to_table(table, records=rows, columns=columns)


def _product(index: int, now: datetime, price: int) -> Product:
    name = f"Bench product {index:05d}"
    return Product(
        id=new_id(),
        version=0,
        name=name,
        slug=f"bench-product-{index:05d}",
        description=f"A product the benchmark made, number {index}, with a plain description.",
        category=CATEGORIES[index % len(CATEGORIES)],
        variants=tuple(
            Variant(
                sku=sku_of(index, v),
                price=Money(price + 100 * v, "EUR"),
                attributes={"size": "ML"[v]},
            )
            for v in range(config.VARIANTS_PER_PRODUCT)
        ),
        status=ProductStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _product_rows(product: Product) -> dict[str, Any]:
    row = PRODUCT.to_row(product)
    row["version"] = product.version + 1
    return row


def _cart(customer_id: str, lines: list[tuple[Product, Variant, int]], now: datetime) -> Cart:
    return Cart(
        id=new_id(),
        version=0,
        customer_id=customer_id,
        token_hash=None,
        currency="EUR",
        lines=[
            CartLine(sku=v.sku, name=p.name, quantity=q, unit_price=v.price) for p, v, q in lines
        ],
        status=CartStatus.OPEN,
        created_at=now,
        updated_at=now,
    )


def _cart_row(cart: Cart) -> dict[str, Any]:
    row = CART.to_row(cart)
    row["version"] = cart.version + 1
    return row


async def load(seed: int = 7) -> Dataset:
    """Reset the bench database and fill it; returns what the load generators need."""
    rng = random.Random(seed)
    await reset_database()
    data = Dataset()
    now = datetime.now(UTC) - timedelta(minutes=5)
    password_hash = await Argon2Hasher().hash(config.PASSWORD)

    for index in range(config.PRODUCTS):
        data.products.append(_product(index, now, 500 + rng.randrange(20_000)))
    flash = Product(
        id=new_id(),
        version=0,
        name="Flash sale sneaker",
        slug="flash-sale-sneaker",
        description="One SKU, a thousand units, five hundred buyers.",
        category="flash",
        variants=(Variant(sku=FLASH_SKU, price=Money(4900, "EUR")),),
        status=ProductStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    data.flash_product_id = flash.id
    data.flash_product = flash
    all_products = [*data.products, flash]

    def customer(n: int, prefix: str) -> Customer:
        return Customer(
            id=new_id(),
            version=0,
            email=f"{prefix}-{n}@bench.example.com",
            password_hash=password_hash,
            role=Role.CUSTOMER,
            name=f"{prefix} {n}",
            addresses=[],
            created_at=now,
        )

    data.customers = [customer(n, "shopper") for n in range(config.CUSTOMERS)]
    data.flash_buyers = [customer(n, "flash") for n in range(config.FLASH_BUYERS)]

    variants = [(p, v) for p in data.products for v in p.variants]
    carts: list[Cart] = []
    for n in range(config.CHECKOUT_CARTS):
        owner = data.customers[n % len(data.customers)]
        picked = rng.sample(variants, 3)
        cart = _cart(owner.id, [(p, v, 1 + rng.randrange(2)) for p, v in picked], now)
        carts.append(cart)
        data.checkout_carts.append((owner.id, cart.id))
    flash_variant = flash.variants[0]
    per_buyer = -(-config.FLASH_UNITS // config.FLASH_BUYERS) + 1  # enough to sell out
    for buyer in data.flash_buyers:
        own = [_cart(buyer.id, [(flash, flash_variant, 1)], now) for _ in range(per_buyer)]
        carts.extend(own)
        data.flash_carts[buyer.id] = [c.id for c in own]
    # Carts whose checkout is recorded statement by statement (bench/capture.py).
    capture_owner = data.customers[0]
    for name, lines in (
        ("checkout", [(p, v, 1) for p, v in rng.sample(variants, 3)]),
        ("checkout-warm", [(p, v, 1) for p, v in rng.sample(variants, 3)]),
        ("flash", [(data.products[1], data.products[1].variants[0], 1)]),
        ("flash-warm", [(data.products[2], data.products[2].variants[0], 1)]),
    ):
        cart = _cart(capture_owner.id, lines, now)
        carts.append(cart)
        data.capture_carts[name] = (capture_owner.id, cart.id)
    data.carts = carts

    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    try:
        async with conn.transaction():
            await _copy(conn, "products", [_product_rows(p) for p in all_products])
            await _copy(
                conn, "product_variants", [row for p in all_products for row in variant_rows(p)]
            )
            stock = [
                {"sku": v.sku, "location": DEFAULT_LOCATION, "on_hand": ON_HAND}
                for p in data.products
                for v in p.variants
            ]
            stock.append(
                {"sku": FLASH_SKU, "location": DEFAULT_LOCATION, "on_hand": config.FLASH_UNITS}
            )
            await _copy(conn, "stock_levels", stock)
            people = [*data.customers, *data.flash_buyers]
            await _copy(conn, "customers", [_customer_row(c) for c in people])
            await _copy(conn, "carts", [_cart_row(c) for c in carts])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return data


def _customer_row(customer: Customer) -> dict[str, Any]:
    row = CUSTOMER.to_row(customer)
    row["version"] = customer.version + 1
    return row


if __name__ == "__main__":  # pragma: no cover - a manual check
    loaded = asyncio.run(load())
    print(len(loaded.products), len(loaded.checkout_carts))
