"""Facts about orders."""

from __future__ import annotations

from shopcore.shared.messages import Event
from shopcore.shared.money import Money


class OrderPlaced(Event, frozen=True, kw_only=True):
    """Paid (authorized) and its stock allocated: the order is confirmed."""

    order_id: str
    customer_id: str
    total: Money


class OrderPaymentFailed(Event, frozen=True, kw_only=True):
    """The payment was declined or could not be taken: the order failed, and its stock and cart
    went back."""

    order_id: str
    customer_id: str
    reason: str


class OrderCancelled(Event, frozen=True, kw_only=True):
    """The customer or staff cancelled the order before it shipped, or its checkout could not go
    on: its stock and its authorization are handed back."""

    order_id: str
    customer_id: str
    reason: str


class OrderShipped(Event, frozen=True, kw_only=True):
    """The order left: its payment was captured and its stock shipped; the customer is told."""

    order_id: str
    customer_id: str


class OrderDelivered(Event, frozen=True, kw_only=True):
    """The order reached its customer."""

    order_id: str
    customer_id: str


class OrderRefunded(Event, frozen=True, kw_only=True):
    """Money went back to the customer: `amount` this time; `fully`: nothing is left to refund."""

    order_id: str
    amount: Money
    fully: bool
