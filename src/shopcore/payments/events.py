"""Facts about payments."""

from __future__ import annotations

from shopcore.shared.messages import Event
from shopcore.shared.money import Money


class PaymentAuthorized(Event, frozen=True, kw_only=True):
    payment_id: str
    order_id: str
    amount: Money


class PaymentDeclinedEvent(Event, frozen=True, kw_only=True, tag="PaymentDeclined"):
    payment_id: str
    order_id: str
    reason: str


class PaymentCaptured(Event, frozen=True, kw_only=True):
    payment_id: str
    order_id: str
    amount: Money


class PaymentVoided(Event, frozen=True, kw_only=True):
    payment_id: str
    order_id: str


class PaymentRefunded(Event, frozen=True, kw_only=True):
    payment_id: str
    order_id: str
    amount: Money
