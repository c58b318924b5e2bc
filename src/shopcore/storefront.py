"""The storefront's product page: a product with each of its variants' units available now.

The product is the catalog's, the units are the inventory's, and the page shows both. Reading
them through one port lets a store that holds both answer in one read (the SQL adapter: one
statement); elsewhere the two contexts' read ports are asked in turn
(`adapters.machinery.product_pages`). Either way the figures are exactly what
`CatalogViews.product` and `inventory.queries.availability` answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopcore.catalog.views import ProductView


@dataclass(frozen=True)
class ProductPage:
    product: ProductView
    # Units available now per SKU of the product's variants; 0 for one never stocked.
    available: Mapping[str, int]


class ProductPages(Protocol):
    async def page(self, id_or_slug: str, now: datetime) -> ProductPage | None:
        """The product `CatalogViews.product` finds (archived or not), with the availability
        of its variants' SKUs at `now` (holds that lapsed by then left out)."""
        ...


async def product_page(pages: ProductPages, id_or_slug: str, now: datetime) -> ProductPage | None:
    """An active product's page by id or slug; archived products are not shown to shoppers."""
    page = await pages.page(id_or_slug, now)
    if page is None or not page.product.is_sellable:
        return None
    return page
