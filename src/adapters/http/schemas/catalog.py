"""Products as shoppers and staff see them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec
from litestar.openapi.spec import Example

from adapters.http.schemas.common import MoneyOut
from shopcore.catalog.model import Product
from shopcore.catalog.views import ProductView


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
    def of(
        cls, product: Product | ProductView, available: Mapping[str, int] | None = None
    ) -> ProductOut:
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


_VARIANT = {
    "sku": "SHIRT-M",
    "price": {"amount": 3900, "currency": "EUR"},
    "attributes": {"size": "M"},
}
_PRODUCT = {
    "id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
    "slug": "linen-shirt",
    "name": "Linen shirt",
    "description": "Breathable linen, relaxed fit.",
    "category": "shirts",
    "status": "active",
    "variants": [_VARIANT | {"available": None}],
    "created_at": "2025-01-01T12:00:00Z",
    "updated_at": "2025-01-01T12:00:00Z",
}
PRODUCT_EXAMPLE = Example(summary="A product", value=_PRODUCT)
PRODUCT_DETAIL_EXAMPLE = Example(
    summary="A product with the units available now",
    value=_PRODUCT | {"variants": [_VARIANT | {"available": 12}]},
)
PRODUCT_PAGE_EXAMPLE = Example(
    summary="One page of products",
    value={"items": [_PRODUCT], "next_cursor": "MDE5M2E0YjItN2MxZC03ZTRm"},
)
