"""Product pages from the two contexts' read ports, one after the other: for stores that
cannot join them (memory), and the reference the SQL adapter's single statement must match."""

from __future__ import annotations

from datetime import datetime

from shopcore.catalog.ports import CatalogViews
from shopcore.inventory.ports import StockViews
from shopcore.inventory.queries import availability
from shopcore.storefront import ProductPage


class ComposedProductPages:
    def __init__(self, catalog: CatalogViews, stock: StockViews) -> None:
        self._catalog = catalog
        self._stock = stock

    async def page(self, id_or_slug: str, now: datetime) -> ProductPage | None:
        product = await self._catalog.product(id_or_slug)
        if product is None:
            return None
        return ProductPage(product, await availability(self._stock, product.skus, now))
