"""The inventory's read side: stock levels through `StockViews` (no unit of work), the audit
trail through the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shopcore.inventory.model import StockLevel, StockMovement
from shopcore.inventory.ports import InventoryUnitOfWork, StockViews


async def availability(views: StockViews, skus: Sequence[str], now: datetime) -> dict[str, int]:
    """Units available to sell per SKU over all locations; a SKU never stocked has 0."""
    levels = await views.levels(sorted(set(skus)), now)
    result = dict.fromkeys(skus, 0)
    for level in levels:
        result[level.sku] += level.available
    return result


async def stock_levels(views: StockViews, skus: Sequence[str], now: datetime) -> list[StockLevel]:
    return await views.levels(sorted(set(skus)), now)


async def movements(uow: InventoryUnitOfWork, sku: str) -> list[StockMovement]:
    async with uow:
        return await uow.stock.movements(sku)
