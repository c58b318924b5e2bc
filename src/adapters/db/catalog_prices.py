"""The prices a checkout charges, in SQL: one statement on a pooled connection of the primary,
its rows made `SkuPrice`s directly.

The price list of the unit of work (`catalog.queries.price_list`) loads whole products, with
their variants and a copy of each for change tracking, to read a price: about a tenth of a
checkout's CPU. A checkout changes no product, so it reads the rows. The statement is built
once per number of SKUs (a checkout sends a few), each SKU a parameter of its own, and run by
`driver_reads` (asyncpg itself on PostgreSQL, prepared once per connection).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import tables
from adapters.db.driver_reads import Reads, reads_for
from shopcore.catalog.model import ProductStatus
from shopcore.catalog.views import SkuPrice
from shopcore.shared.money import Money

_products, _variants = tables.products, tables.product_variants


@functools.lru_cache(maxsize=128)
def _statement(count: int) -> Select[Any]:
    wanted: list[Any] = [bindparam(f"sku_{k}") for k in range(count)]
    return (
        select(
            _variants.c.sku,
            _products.c.id,
            _products.c.name,
            _variants.c.price_amount,
            _variants.c.currency,
            _products.c.status,
        )
        .join_from(_variants, _products, _variants.c.product_id == _products.c.id)
        .where(_variants.c.sku.in_(wanted))
    )


class SqlCatalogPrices:
    def __init__(self, engine: AsyncEngine, *, reads: Reads | None = None) -> None:
        """`engine`: the primary's (where the units of work write). `reads`: as for
        `SqlCatalogViews`."""
        self._reads = reads_for(engine) if reads is None else reads

    async def prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        unique = sorted(set(skus))
        if not unique:
            return {}
        parameters = {f"sku_{k}": sku for k, sku in enumerate(unique)}
        rows = await self._reads.rows(_statement(len(unique)), parameters)
        return {
            row[0]: SkuPrice(
                sku=row[0],
                product_id=row[1],
                name=row[2],
                price=Money(row[3], row[4]),
                sellable=row[5] == ProductStatus.ACTIVE.value,
            )
            for row in rows
        }
