"""The catalog's read side over a `MemoryStore`: views of the stored products, filtered and
paged by scanning them, with no unit of work and no private copies (a view shares the stored
product's immutable variants)."""

from __future__ import annotations

from adapters.memory.store import MemoryStore
from shopcore.catalog.model import Product
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.views import ProductView


class MemoryCatalogViews:
    def __init__(self, store: MemoryStore) -> None:
        self._products = store.products

    async def page(
        self, filters: ProductFilter, *, before: str | None, limit: int
    ) -> list[ProductView]:
        newest_first = sorted(self._products, key=lambda product: product.id, reverse=True)
        matches = (
            product
            for product in newest_first
            if (before is None or product.id < before) and _matches(product, filters)
        )
        found: list[ProductView] = []
        for product in matches:
            if len(found) == limit:
                break
            found.append(ProductView.of(product))
        return found

    async def product(self, id_or_slug: str) -> ProductView | None:
        product = self._products.peek(id_or_slug)
        if product is None:
            owner = self._products.owner("slug", id_or_slug)
            product = None if owner is None else self._products.peek(owner)
        return None if product is None else ProductView.of(product)


def _matches(product: Product, filters: ProductFilter) -> bool:
    if not filters.include_archived and not product.is_sellable:
        return False
    if filters.category is not None and product.category != filters.category:
        return False
    if filters.text is not None:
        needle = filters.text.casefold()
        if needle not in product.name.casefold() and needle not in product.description.casefold():
            return False
    low = filters.min_price if filters.min_price is not None else 0
    high = filters.max_price
    return any(
        low <= variant.price.amount and (high is None or variant.price.amount <= high)
        for variant in product.variants
    )
