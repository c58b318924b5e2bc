"""Requests about orders."""

from __future__ import annotations

from datetime import datetime

import msgspec

from shopcore.ordering.model import Order
from shopcore.shared.address import Address
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command
from shopcore.shared.money import Money


class PlaceOrder(Command[Order], frozen=True, kw_only=True):
    """Check out a cart: reserve its stock, authorize the payment, confirm the order."""

    customer_id: str
    cart_id: str
    shipping_address: Address
    payment_token: str
    order_id: str = msgspec.field(default_factory=new_id)
    # When the checkout must be over: the request's own deadline, counted from when it began
    # (a retry that finds the request dead waits for it); None: `settle_within` from now.
    settle_by: datetime | None = None

    def __repr__(self) -> str:  # no token, no address in logs
        return f"PlaceOrder(order_id={self.order_id!r}, cart_id={self.cart_id!r})"


class CancelOrder(Command[Order], frozen=True, kw_only=True):
    """Cancel an order not yet shipped (`customer_id`: its customer; None: staff), handing back
    its stock and its authorization."""

    order_id: str
    # The customer asking; None when staff or the system cancels.
    customer_id: str | None
    reason: str = "cancelled by customer"


class ShipOrder(Command[Order], frozen=True, kw_only=True):
    """Ship an order: capture its payment and ship its reserved stock."""

    order_id: str


class DeliverOrder(Command[Order], frozen=True, kw_only=True):
    """Record that a shipped order reached its customer."""

    order_id: str


class RefundOrder(Command[Order], frozen=True, kw_only=True):
    """Refund `amount` of what a shipped order was charged, once per `idempotency_key`."""

    order_id: str
    amount: Money
    idempotency_key: str


class ResumeOrder(Command[Order], frozen=True, kw_only=True):
    """Finish the order's work now if it is overdue: what a retried checkout asks for when its
    first request died. Busy while the work is still within its time."""

    order_id: str


class RecoverOrders(Command[int], frozen=True, kw_only=True):
    """The recovery job's pass: finish the work of every overdue order (up to `limit`)."""

    limit: int = 100
