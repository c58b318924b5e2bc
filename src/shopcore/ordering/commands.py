"""Requests about orders."""

from __future__ import annotations

import msgspec

from shopcore.ordering.model import Order
from shopcore.shared.address import Address
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command
from shopcore.shared.money import Money


class PlaceOrder(Command[Order], frozen=True, kw_only=True):
    customer_id: str
    cart_id: str
    shipping_address: Address
    payment_token: str
    order_id: str = msgspec.field(default_factory=new_id)

    def __repr__(self) -> str:  # no token, no address in logs
        return f"PlaceOrder(order_id={self.order_id!r}, cart_id={self.cart_id!r})"


class CancelOrder(Command[Order], frozen=True, kw_only=True):
    order_id: str
    # The customer asking; None when staff or the system cancels.
    customer_id: str | None
    reason: str = "cancelled by customer"


class ShipOrder(Command[Order], frozen=True, kw_only=True):
    order_id: str


class DeliverOrder(Command[Order], frozen=True, kw_only=True):
    order_id: str


class RefundOrder(Command[Order], frozen=True, kw_only=True):
    order_id: str
    amount: Money
    idempotency_key: str
