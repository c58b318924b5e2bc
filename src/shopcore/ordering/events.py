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
    order_id: str
    customer_id: str
    reason: str


class OrderCancelled(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    reason: str


class OrderShipped(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str


class OrderDelivered(Event, frozen=True, kw_only=True):
    order_id: str
    customer_id: str


class OrderRefunded(Event, frozen=True, kw_only=True):
    order_id: str
    amount: Money
    fully: bool
