"""Facts about payments."""

from __future__ import annotations

from shopcore.shared.messages import Event
from shopcore.shared.money import Money


class PaymentAuthorized(Event, frozen=True, kw_only=True):
    """The gateway authorized `amount` for the order: held, not yet taken."""

    payment_id: str
    order_id: str
    amount: Money


class PaymentDeclinedEvent(Event, frozen=True, kw_only=True, tag="PaymentDeclined"):
    """The gateway refused the payment, for `reason`."""

    payment_id: str
    order_id: str
    reason: str


class PaymentCaptured(Event, frozen=True, kw_only=True):
    """The authorized money was taken, at shipment."""

    payment_id: str
    order_id: str
    amount: Money


class PaymentVoided(Event, frozen=True, kw_only=True):
    """An authorization was released without taking the money: a cancellation or a checkout
    undone."""

    payment_id: str
    order_id: str


class PaymentRefunded(Event, frozen=True, kw_only=True):
    """Captured money went back to the customer: `amount` this time."""

    payment_id: str
    order_id: str
    amount: Money
