"""The catalog as shoppers read it: products as plain values.

A `CatalogViews` adapter (ports.py) builds these straight from what it stores, without the
aggregate: no unit of work, no identity map, no copy kept to detect changes, none of which a
read that changes nothing needs. The variants are the model's own value objects.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.shared.money import Money


class ProductView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    slug: str
    name: str
    description: str
    category: str
    status: ProductStatus
    variants: tuple[Variant, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(variant.sku for variant in self.variants)

    @property
    def is_sellable(self) -> bool:
        return self.status is ProductStatus.ACTIVE

    @classmethod
    def of(cls, product: Product) -> ProductView:
        return cls(
            id=product.id,
            slug=product.slug,
            name=product.name,
            description=product.description,
            category=product.category,
            status=product.status,
            variants=product.variants,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class SkuPrice(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU's current price, and whether its product sells (active), as other contexts see it."""

    sku: str
    product_id: str
    name: str
    price: Money
    sellable: bool
