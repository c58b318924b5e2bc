"""Payments: one per order, with every gateway call kept in its transaction log.

Money moves only along PAYMENT_TRANSITIONS; `captured - refunded` is what the shop holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import msgspec

from shopcore.payments.events import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclinedEvent,
    PaymentRefunded,
    PaymentVoided,
)
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import IllegalTransition, InvalidInput
from shopcore.shared.money import Money


class PaymentStatus(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    FAILED = "failed"  # the gateway did not answer; nothing was authorized as far as we know
    CAPTURED = "captured"
    VOIDED = "voided"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.DECLINED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.VOIDED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}


class TransactionKind(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class Transaction(msgspec.Struct, frozen=True, kw_only=True):
    kind: TransactionKind
    amount: Money
    succeeded: bool
    reference: str | None
    idempotency_key: str
    message: str
    at: datetime


def check_amount(amount: Money) -> None:
    if amount.amount <= 0:
        raise InvalidInput("a payment must be for a positive amount")


@dataclass(kw_only=True)
class Payment(Aggregate):
    id: str
    order_id: str
    amount: Money
    status: PaymentStatus
    gateway_reference: str | None
    captured: Money
    refunded: Money
    transactions: list[Transaction] = field(default_factory=list)
    created_at: datetime

    @classmethod
    def authorized(
        cls, *, id: str, order_id: str, amount: Money, transaction: Transaction
    ) -> Payment:
        payment = cls._new(id, order_id, amount, PaymentStatus.AUTHORIZED, transaction)
        payment.record(PaymentAuthorized(payment_id=id, order_id=order_id, amount=amount))
        return payment

    @classmethod
    def declined(
        cls, *, id: str, order_id: str, amount: Money, transaction: Transaction, failed: bool
    ) -> Payment:
        status = PaymentStatus.FAILED if failed else PaymentStatus.DECLINED
        payment = cls._new(id, order_id, amount, status, transaction)
        payment.record(PaymentDeclinedEvent(payment_id=id, order_id=order_id, reason=status))
        return payment

    @classmethod
    def _new(
        cls, id: str, order_id: str, amount: Money, status: PaymentStatus, tx: Transaction
    ) -> Payment:
        check_amount(amount)
        zero = Money.zero(amount.currency)
        return cls(
            id=id,
            order_id=order_id,
            amount=amount,
            status=status,
            gateway_reference=tx.reference,
            captured=zero,
            refunded=zero,
            transactions=[tx],
            created_at=tx.at,
        )

    @property
    def refundable(self) -> Money:
        return self.captured - self.refunded

    def log(self, transaction: Transaction) -> None:
        self.transactions.append(transaction)

    def capture(self, transaction: Transaction) -> None:
        self._move(PaymentStatus.CAPTURED)
        self.captured = transaction.amount
        self.log(transaction)
        self.record(
            PaymentCaptured(payment_id=self.id, order_id=self.order_id, amount=transaction.amount)
        )

    def void(self, transaction: Transaction) -> None:
        self._move(PaymentStatus.VOIDED)
        self.log(transaction)
        self.record(PaymentVoided(payment_id=self.id, order_id=self.order_id))

    def check_refund(self, amount: Money) -> None:
        if amount.amount <= 0 or amount > self.refundable:
            raise InvalidInput(f"a refund must be positive and at most {self.refundable.amount}")
        if PaymentStatus.REFUNDED not in PAYMENT_TRANSITIONS[self.status]:
            raise IllegalTransition(f"payment {self.id} is {self.status} and cannot be refunded")

    def refund(self, transaction: Transaction) -> None:
        self.check_refund(transaction.amount)
        self.refunded = self.refunded + transaction.amount
        full = self.refunded == self.captured
        self._move(PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED)
        self.log(transaction)
        self.record(
            PaymentRefunded(payment_id=self.id, order_id=self.order_id, amount=transaction.amount)
        )

    def _move(self, status: PaymentStatus) -> None:
        if status not in PAYMENT_TRANSITIONS[self.status]:
            raise IllegalTransition(f"payment {self.id} cannot go from {self.status} to {status}")
        self.status = status
