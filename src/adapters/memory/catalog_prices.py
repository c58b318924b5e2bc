"""The prices a checkout charges, over a `MemoryStore`: read from the stored products, found by
the SKU index, with no unit of work and no private copies."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.memory.store import MemoryStore
from shopcore.catalog.views import SkuPrice


class MemoryCatalogPrices:
    def __init__(self, store: MemoryStore) -> None:
        self._products = store.products

    async def prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        found: dict[str, SkuPrice] = {}
        for sku in set(skus):
            key = self._products.owner("sku", sku)
            product = None if key is None else self._products.peek(key)
            if product is None:
                continue
            for variant in product.variants:
                if variant.sku == sku:
                    found[sku] = SkuPrice(
                        sku=sku,
                        product_id=product.id,
                        name=product.name,
                        price=variant.price,
                        sellable=product.is_sellable,
                    )
        return found
