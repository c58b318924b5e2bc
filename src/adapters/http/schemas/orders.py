"""Checkout requests and orders as their customer sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import Example
from litestar.params import PathParameter

from adapters.http.schemas.carts import ID_PATTERN, ResourceId
from adapters.http.schemas.common import MoneyOut
from shopcore.ordering.model import Order
from shopcore.shared.address import Address

OrderIdPath = Annotated[str, PathParameter(pattern=ID_PATTERN, description="the order's id")]


def _text(max_length: int, example: str, min_length: int = 1) -> object:
    return msgspec.Meta(min_length=min_length, max_length=max_length, examples=[example])


class AddressIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, _text(200, "Ada Lovelace")]
    line1: Annotated[str, _text(200, "12 Analytical Street")]
    line2: Annotated[str, _text(200, "Flat 3", min_length=0)] = ""
    city: Annotated[str, _text(100, "London")]
    postal_code: Annotated[str, _text(20, "N1 9GU")]
    country: Annotated[
        str, msgspec.Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["GB"])
    ]

    def to_address(self) -> Address:
        return Address(
            name=self.name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
        )


class CheckoutIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the customer decides; prices, totals and status are the shop's."""

    cart_id: ResourceId
    shipping_address: AddressIn
    payment_token: Annotated[
        str,
        msgspec.Meta(
            pattern="^[\\x21-\\x7e]{1,200}$",
            description="a card token from the payment gateway (simulated: tok_visa, "
            "tok_decline, tok_error)",
            examples=["tok_visa"],
        ),
    ]


class AddressOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


class OrderLineOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    line_total: MoneyOut


class DiscountOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    amount: MoneyOut


class TotalsOut(msgspec.Struct, frozen=True, kw_only=True):
    subtotal: MoneyOut
    discount: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class StatusChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    from_status: str | None
    to_status: str
    at: datetime
    reason: str


class OrderOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str
    cart_id: str
    lines: list[OrderLineOut]
    discounts: list[DiscountOut]
    totals: TotalsOut
    refunded: MoneyOut
    shipping_address: AddressOut
    history: list[StatusChangeOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        totals = order.totals
        address = order.shipping_address
        return cls(
            id=order.id,
            status=str(order.status),
            cart_id=order.cart_id,
            lines=[
                OrderLineOut(
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=MoneyOut.of(line.unit_price),
                    line_total=MoneyOut.of(line.line_total),
                )
                for line in order.lines
            ],
            discounts=[
                DiscountOut(code=found.code, amount=MoneyOut.of(found.amount))
                for found in order.discounts
            ],
            totals=TotalsOut(
                subtotal=MoneyOut.of(totals.subtotal),
                discount=MoneyOut.of(totals.discount),
                shipping=MoneyOut.of(totals.shipping),
                tax=MoneyOut.of(totals.tax),
                total=MoneyOut.of(totals.total),
            ),
            refunded=MoneyOut.of(order.refunded),
            shipping_address=AddressOut(
                name=address.name,
                line1=address.line1,
                line2=address.line2,
                city=address.city,
                postal_code=address.postal_code,
                country=address.country,
            ),
            history=[
                StatusChangeOut(
                    from_status=None if change.from_status is None else str(change.from_status),
                    to_status=str(change.to_status),
                    at=change.at,
                    reason=change.reason,
                )
                for change in order.history
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[OrderOut]
    next_cursor: str | None


ORDER_SAMPLE: dict[str, Any] = {
    "id": "0193a4b3-0000-7e4f-9a2b-3c4d5e6f7a8b",
    "status": "confirmed",
    "cart_id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
    "lines": [
        {
            "sku": "TSHIRT-BLUE-M",
            "name": "Blue T-shirt",
            "quantity": 2,
            "unit_price": {"amount": 1200, "currency": "EUR"},
            "line_total": {"amount": 2400, "currency": "EUR"},
        }
    ],
    "discounts": [],
    "totals": {
        "subtotal": {"amount": 2400, "currency": "EUR"},
        "discount": {"amount": 0, "currency": "EUR"},
        "shipping": {"amount": 495, "currency": "EUR"},
        "tax": {"amount": 456, "currency": "EUR"},
        "total": {"amount": 3351, "currency": "EUR"},
    },
    "refunded": {"amount": 0, "currency": "EUR"},
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical Street",
        "line2": "",
        "city": "London",
        "postal_code": "N1 9GU",
        "country": "GB",
    },
    "history": [
        {
            "from_status": None,
            "to_status": "pending_payment",
            "at": "2025-01-01T12:10:00Z",
            "reason": "",
        },
        {
            "from_status": "pending_payment",
            "to_status": "confirmed",
            "at": "2025-01-01T12:10:01Z",
            "reason": "",
        },
    ],
    "created_at": "2025-01-01T12:10:00Z",
    "updated_at": "2025-01-01T12:10:01Z",
}
ORDER_EXAMPLE = Example(summary="A confirmed order", value=ORDER_SAMPLE)
CHECKOUT_EXAMPLE = Example(
    summary="Pay for a cart with a test card",
    value={
        "cart_id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Street",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB",
        },
        "payment_token": "tok_visa",
    },
)
