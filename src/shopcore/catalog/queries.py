"""The catalog's read side: listings, detail views and the price list other contexts consult.

Listings and details are what shoppers ask for most; they go through `CatalogViews`, which
reads products as values without a unit of work. The price list serves commands of other
contexts, read as values through the unit of work they run in.
"""

from __future__ import annotations

from collections.abc import Sequence

from shopcore.catalog.ports import CatalogUnitOfWork, CatalogViews, ProductFilter
from shopcore.catalog.views import ProductView, SkuPrice
from shopcore.shared import validation
from shopcore.shared.errors import InvalidInput
from shopcore.shared.ids import is_id
from shopcore.shared.pagination import Page, check_limit, decode_cursor, page_of


def _check_filter(filters: ProductFilter) -> None:
    if filters.category is not None:
        validation.slug(filters.category, "category")
    if filters.text is not None:
        validation.text(filters.text, "q", max_length=100)
    for bound in (filters.min_price, filters.max_price):
        if bound is not None and not 0 <= bound <= 10**12:
            raise InvalidInput("price bounds must be from 0 to 10^12 minor units")
    if (
        filters.min_price is not None
        and filters.max_price is not None
        and filters.min_price > filters.max_price
    ):
        raise InvalidInput("min_price must not exceed max_price")


async def list_products(
    views: CatalogViews, filters: ProductFilter, *, cursor: str | None, limit: int
) -> Page[ProductView]:
    check_limit(limit)
    _check_filter(filters)
    before = decode_cursor(cursor)
    if before is not None and not is_id(before):
        raise InvalidInput("cursor is malformed")
    rows = await views.page(filters, before=before, limit=limit + 1)
    return page_of(rows, limit, key=lambda product: product.id)


async def get_product(views: CatalogViews, id_or_slug: str) -> ProductView | None:
    """An active product by id or slug; archived products are not shown to shoppers."""
    product = await views.product(id_or_slug)
    if product is None or not product.is_sellable:
        return None
    return product


async def price_list(uow: CatalogUnitOfWork, skus: Sequence[str]) -> dict[str, SkuPrice]:
    """Current price and sellability of each known SKU; unknown SKUs are absent."""
    async with uow:
        return dict(await uow.products.prices(skus))
