"""What staff send to change the catalog, stock and orders, and the stock level they get back.

Only fields staff may decide are accepted: ids, status and timestamps are the shop's, and an
unknown field is a 400 (no mass assignment). Format rules (slug, SKU) are stated here for the
document and re-checked by the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec
from litestar.openapi.spec import Example

from adapters.http.schemas.carts import SKU_PATTERN
from adapters.http.schemas.common import Currency, MoneyIn
from shopcore.catalog.model import MAX_ATTRIBUTES, MAX_PRICE, MAX_VARIANTS, Variant
from shopcore.inventory.model import MAX_QUANTITY, StockLevel
from shopcore.shared.money import Money

SLUG_PATTERN = "^[a-z0-9]+(?:-[a-z0-9]+)*$"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["Linen shirt"])]
Slug = Annotated[str, msgspec.Meta(max_length=100, pattern=SLUG_PATTERN, examples=["linen-shirt"])]
Category = Annotated[str, msgspec.Meta(max_length=100, pattern=SLUG_PATTERN, examples=["shirts"])]
Description = Annotated[str, msgspec.Meta(max_length=5000, examples=["Breathable linen."])]
Sku = Annotated[str, msgspec.Meta(pattern=SKU_PATTERN, examples=["SHIRT-M"])]
Attributes = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=50)],
        Annotated[str, msgspec.Meta(min_length=1, max_length=100)],
    ],
    msgspec.Meta(max_length=MAX_ATTRIBUTES, examples=[{"size": "M"}]),
]
Reason = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, examples=["stock count 2025-01"])
]


class PriceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A variant's price: positive, at most 1,000,000.00 (catalog/model.py's own bound)."""

    amount: Annotated[int, msgspec.Meta(ge=1, le=MAX_PRICE, description="minor units, e.g. cents")]
    currency: Currency

    def to_money(self) -> Money:
        return Money(self.amount, self.currency)


class VariantIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sku: Sku
    price: PriceIn
    attributes: Attributes = msgspec.field(default_factory=dict)

    def to_variant(self) -> Variant:
        return Variant(sku=self.sku, price=self.price.to_money(), attributes=self.attributes)


Variants = Annotated[list[VariantIn], msgspec.Meta(min_length=1, max_length=MAX_VARIANTS)]


def variants_of(variants: Sequence[VariantIn]) -> tuple[Variant, ...]:
    return tuple(variant.to_variant() for variant in variants)


class ProductIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new product; its id, status and timestamps are the shop's."""

    name: Name
    slug: Slug
    category: Category
    description: Description = ""
    variants: Variants


class ProductPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fields to change; absent (or null) fields keep their value. `variants` replaces
    the whole list, which is how prices change."""

    name: Name | None = None
    slug: Slug | None = None
    category: Category | None = None
    description: Description | None = None
    variants: Variants | None = None


class StockAdjustmentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A correction after a count, damage or loss: `delta` units on hand, up or down."""

    delta: Annotated[
        int,
        msgspec.Meta(ge=-MAX_QUANTITY, le=MAX_QUANTITY, description="non-zero", examples=[-2]),
    ]
    reason: Reason


class StockReceiptIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Goods that arrived at the warehouse."""

    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY, examples=[24])]
    reason: Reason = "received"


class RefundIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Money back to the customer's card: at most what was captured and not yet refunded."""

    amount: MoneyIn


class StockOut(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU's stock over every location: `available = on_hand - reserved - allocated`."""

    sku: str
    on_hand: int
    reserved: int
    allocated: int
    available: int

    @classmethod
    def of(cls, sku: str, levels: Sequence[StockLevel]) -> StockOut:
        mine = [level for level in levels if level.sku == sku]
        on_hand = sum(level.on_hand for level in mine)
        reserved = sum(level.reserved for level in mine)
        allocated = sum(level.allocated for level in mine)
        return cls(
            sku=sku,
            on_hand=on_hand,
            reserved=reserved,
            allocated=allocated,
            available=on_hand - reserved - allocated,
        )


PRODUCT_IN_EXAMPLE = Example(
    summary="A shirt in two sizes",
    value={
        "name": "Linen shirt",
        "slug": "linen-shirt",
        "category": "shirts",
        "description": "Breathable linen, relaxed fit.",
        "variants": [
            {
                "sku": "SHIRT-M",
                "price": {"amount": 3900, "currency": "EUR"},
                "attributes": {"size": "M"},
            },
            {
                "sku": "SHIRT-L",
                "price": {"amount": 3900, "currency": "EUR"},
                "attributes": {"size": "L"},
            },
        ],
    },
)
PRODUCT_PATCH_EXAMPLE = Example(
    summary="A new name and price",
    value={
        "name": "Linen shirt, natural",
        "variants": [{"sku": "SHIRT-M", "price": {"amount": 3500, "currency": "EUR"}}],
    },
)
ADJUSTMENT_EXAMPLE = Example(
    summary="Two units damaged", value={"delta": -2, "reason": "damaged in the warehouse"}
)
RECEIPT_EXAMPLE = Example(
    summary="A delivery arrived", value={"quantity": 24, "reason": "delivery 2025-01-07"}
)
STOCK_EXAMPLE = Example(
    summary="Stock after the change",
    value={"sku": "SHIRT-M", "on_hand": 22, "reserved": 3, "allocated": 1, "available": 18},
)
REFUND_EXAMPLE = Example(
    summary="A partial refund", value={"amount": {"amount": 1200, "currency": "EUR"}}
)
