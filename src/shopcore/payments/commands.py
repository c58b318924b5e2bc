"""Requests to move money. Each carries the idempotency key its gateway call will use."""

from __future__ import annotations

from shopcore.payments.model import Payment
from shopcore.shared.messages import Command
from shopcore.shared.money import Money


class AuthorizePayment(Command[Payment], frozen=True, kw_only=True):
    """Ask the gateway to hold `amount` on the card token, once per `idempotency_key`.
    A refusal is recorded at once and raised. An approval is recorded at once too, unless
    `record_approval` is false: then it is returned unrecorded, for the caller to record
    with `RecordPayment` in a transaction of its own choosing (a checkout records it with
    the allocation and the confirmation; a crash before that commit leaves it to
    `ReconcilePayment`, which asks the gateway under the same key)."""

    payment_id: str
    order_id: str
    amount: Money
    token: str
    idempotency_key: str
    record_approval: bool = True

    def __repr__(self) -> str:  # the token is a card stand-in: keep it out of logs
        return f"AuthorizePayment(payment_id={self.payment_id!r}, order_id={self.order_id!r})"


class RecordPayment(Command[Payment], frozen=True, kw_only=True):
    """Write down an authorization `AuthorizePayment` returned unrecorded; when it is on the
    books already (written by a retry or by the recovery job), that one is kept and returned."""

    payment: Payment

    def __repr__(self) -> str:
        return f"RecordPayment(payment_id={self.payment.id!r})"


class CapturePayment(Command[Payment], frozen=True, kw_only=True):
    """Take the money an authorization holds."""

    payment_id: str
    idempotency_key: str


class VoidPayment(Command[Payment], frozen=True, kw_only=True):
    """Release an authorization without taking the money."""

    payment_id: str
    idempotency_key: str


class RefundPayment(Command[Payment], frozen=True, kw_only=True):
    """Give back `amount` of what was captured."""

    payment_id: str
    amount: Money
    idempotency_key: str


class ReconcilePayment(Command[Payment | None], frozen=True, kw_only=True):
    """Bring the books up to date with the gateway for one authorization: what the gateway
    answered under `idempotency_key` is recorded if the books lack it (a process died between
    the gateway's answer and its own write). None when neither has it."""

    payment_id: str
    order_id: str
    amount: Money
    idempotency_key: str
