"""The thin app's database (`shopcore_thin`): its own tables (`thin_app.SCHEMA`), filled with
the very data `bench/dataset.py` wrote into shopcore's: the same products, ids, SKUs,
prices, timestamps, stock and carts (same ids, owners and lines). So the same URL answers the
same product in both apps, the same access token owns the same cart in both, and each app
is measured on the same data sizes.

pgbench's clients need open carts of their own (`copy_carts`), as for shopcore's recorded
script: copies of one cart with its lines, `<prefix>-<client>-<n>`.
"""

from __future__ import annotations

import asyncpg
import msgspec

from bench import config, thin_app
from bench.dataset import FLASH_SKU, ON_HAND, Dataset, recreate_database


async def load(data: Dataset) -> None:
    """Drop, create and fill the thin database from the dataset just loaded into shopcore's."""
    await recreate_database(config.THIN_DB)
    products = [*data.products, *([data.flash_product] if data.flash_product else [])]
    conn = await asyncpg.connect(config.THIN_DSN)
    try:
        await conn.execute(thin_app.SCHEMA)
        async with conn.transaction():
            await conn.copy_records_to_table(
                "products",
                records=[
                    (
                        p.id,
                        p.slug,
                        p.name,
                        p.description,
                        p.category,
                        str(p.status),
                        p.created_at,
                        p.updated_at,
                    )
                    for p in products
                ],
            )
            await conn.copy_records_to_table(
                "variants",
                records=[
                    (
                        v.sku,
                        p.id,
                        position,
                        v.price.amount,
                        v.price.currency,
                        msgspec.json.encode(v.attributes).decode(),
                    )
                    for p in products
                    for position, v in enumerate(p.variants)
                ],
            )
            stock = [(v.sku, ON_HAND) for p in data.products for v in p.variants]
            stock.append((FLASH_SKU, config.FLASH_UNITS))
            await conn.copy_records_to_table("stock", records=stock, columns=["sku", "on_hand"])
            await conn.copy_records_to_table(
                "carts",
                records=[(c.id, c.customer_id, c.currency, "open", None) for c in data.carts],
            )
            await conn.copy_records_to_table(
                "cart_lines",
                records=[(c.id, line.sku, line.quantity) for c in data.carts for line in c.lines],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def copy_carts(template_cart_id: str, prefix: str, clients: int, per_client: int) -> None:
    """Open carts `<prefix>-<client>-<n>` with the template's lines, for pgbench's clients."""
    conn = await asyncpg.connect(config.THIN_DSN)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM cart_lines WHERE cart_id LIKE $1", f"{prefix}-%")
            await conn.execute("DELETE FROM carts WHERE id LIKE $1", f"{prefix}-%")
            await conn.execute(
                """
                INSERT INTO carts (id, customer_id, currency, status)
                SELECT $4 || '-' || c || '-' || n, customer_id, currency, 'open'
                FROM carts, generate_series(0, $2::int - 1) c, generate_series(1, $3::int) n
                WHERE id = $1
                """,
                template_cart_id,
                clients,
                per_client,
                prefix,
            )
            await conn.execute(
                """
                INSERT INTO cart_lines (cart_id, sku, quantity)
                SELECT $4 || '-' || c || '-' || n, sku, quantity
                FROM cart_lines, generate_series(0, $2::int - 1) c, generate_series(1, $3::int) n
                WHERE cart_id = $1
                """,
                template_cart_id,
                clients,
                per_client,
                prefix,
            )
        await conn.execute("ANALYZE carts")
        await conn.execute("ANALYZE cart_lines")
    finally:
        await conn.close()
