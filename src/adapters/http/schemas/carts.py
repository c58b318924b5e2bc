"""Carts as the storefront sees them, and the bodies that change them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import HeaderParameter, PathParameter

from adapters.http.schemas.common import MoneyOut
from shopcore.cart.model import MAX_LINE_QUANTITY, Cart

# Ids are UUIDs; anything outside this alphabet cannot name a cart or order, and is refused
# before it reaches a database (a NUL byte would make PostgreSQL fail).
ID_PATTERN = "^[0-9A-Za-z-]{1,64}$"
SKU_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CART_TOKEN_HEADER = "X-Cart-Token"

ResourceId = Annotated[
    str, msgspec.Meta(pattern=ID_PATTERN, examples=["0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"])
]
Sku = Annotated[str, msgspec.Meta(pattern=SKU_PATTERN, examples=["TSHIRT-BLUE-M"])]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_LINE_QUANTITY, examples=[2])]

CartIdPath = Annotated[
    str, PathParameter(pattern=ID_PATTERN, description="the cart's id, from POST /v1/carts")
]
SkuPath = Annotated[str, PathParameter(pattern=SKU_PATTERN, description="a SKU in the cart")]
CartTokenHeader = Annotated[
    str | None,
    HeaderParameter(
        name=CART_TOKEN_HEADER,
        max_length=200,
        description="the secret `cart_token` of an anonymous cart",
    ),
]


class CartItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A SKU to add; the price is the catalog's, never the client's."""

    sku: Sku
    quantity: Quantity = 1


class CartQuantityIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    quantity: Quantity


class CartLineOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut  # the catalog price when the line last changed
    line_total: MoneyOut


class CartOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    status: str
    currency: str
    lines: list[CartLineOut]
    item_count: int
    subtotal: MoneyOut
    created_at: datetime
    updated_at: datetime
    # Only in the answer that created an anonymous cart: the one time the secret is shown.
    cart_token: str | None = None

    @classmethod
    def of(cls, cart: Cart, token: str | None = None) -> CartOut:
        return cls(
            id=cart.id,
            status=str(cart.status),
            currency=cart.currency,
            lines=[
                CartLineOut(
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=MoneyOut.of(line.unit_price),
                    line_total=MoneyOut.of(line.line_total),
                )
                for line in cart.lines
            ],
            item_count=cart.item_count,
            subtotal=MoneyOut.of(cart.subtotal),
            created_at=cart.created_at,
            updated_at=cart.updated_at,
            cart_token=token,
        )
