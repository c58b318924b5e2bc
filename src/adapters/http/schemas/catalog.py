"""Products as shoppers and staff see them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from adapters.http.schemas.common import MoneyOut
from shopcore.catalog.model import Product


class VariantOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    price: MoneyOut
    attributes: dict[str, str]
    available: int | None = None  # units that can be bought now (detail view only)


class ProductOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    slug: str
    name: str
    description: str
    category: str
    status: str
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product, available: dict[str, int] | None = None) -> ProductOut:
        return cls(
            id=product.id,
            slug=product.slug,
            name=product.name,
            description=product.description,
            category=product.category,
            status=str(product.status),
            variants=[
                VariantOut(
                    sku=variant.sku,
                    price=MoneyOut.of(variant.price),
                    attributes=dict(variant.attributes),
                    available=None if available is None else available.get(variant.sku, 0),
                )
                for variant in product.variants
            ],
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class ProductPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ProductOut]
    next_cursor: str | None
