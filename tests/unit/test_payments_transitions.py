"""The payment state machine against PAYMENT_TRANSITIONS."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from shopcore import IllegalTransition, InvalidInput
from shopcore.payments.model import (
    PAYMENT_TRANSITIONS,
    Payment,
    PaymentStatus,
    Transaction,
    TransactionKind,
)
from tests.support.driver import eur

P = PaymentStatus
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def tx(kind: TransactionKind, amount: int = 5000) -> Transaction:
    return Transaction(
        kind=kind,
        amount=eur(amount),
        succeeded=True,
        reference="ch_1",
        idempotency_key=f"key-{kind}",
        message="ok",
        at=NOW,
    )


def payment_in(status: PaymentStatus) -> Payment:
    """A payment of 50.00 put straight into `status`, with all of it captured, so that only
    the table, not the amount, can stop a refund."""
    payment = Payment.authorized(
        id="payment-1",
        order_id="order-1",
        amount=eur(5000),
        transaction=tx(TransactionKind.AUTHORIZE),
    )
    payment.status = status
    payment.captured = eur(5000)
    payment.events.clear()
    return payment


VERBS: dict[PaymentStatus, Callable[[Payment], None]] = {
    P.CAPTURED: lambda p: p.capture(tx(TransactionKind.CAPTURE)),
    P.VOIDED: lambda p: p.void(tx(TransactionKind.VOID)),
    P.PARTIALLY_REFUNDED: lambda p: p.refund(tx(TransactionKind.REFUND, 1000)),
    P.REFUNDED: lambda p: p.refund(tx(TransactionKind.REFUND, 5000)),
}
LEGAL = sorted((a, b) for a, targets in PAYMENT_TRANSITIONS.items() for b in targets)
# Payments are born authorized, declined or failed; no verb moves one into those.
ILLEGAL = sorted((a, b) for a, b in itertools.product(P, VERBS) if b not in PAYMENT_TRANSITIONS[a])


def test_the_table_covers_every_status() -> None:
    assert set(PAYMENT_TRANSITIONS) == set(P)
    born = {P.AUTHORIZED, P.DECLINED, P.FAILED}
    assert born.isdisjoint(b for targets in PAYMENT_TRANSITIONS.values() for b in targets)


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_a_listed_transition_happens_and_is_logged(
    source: PaymentStatus, target: PaymentStatus
) -> None:
    payment = payment_in(source)

    VERBS[target](payment)

    assert payment.status is target
    assert len(payment.transactions) == 2
    assert len(payment.events) == 1


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_unlisted_transition_is_refused(source: PaymentStatus, target: PaymentStatus) -> None:
    payment = payment_in(source)

    with pytest.raises(IllegalTransition) as caught:
        VERBS[target](payment)

    assert caught.value.code == "illegal-transition"
    assert payment.status is source
    assert len(payment.transactions) == 1
    assert payment.refunded == eur(0)
    assert payment.events == []


def test_a_capture_records_the_captured_amount() -> None:
    payment = payment_in(P.AUTHORIZED)
    payment.captured = eur(0)

    payment.capture(tx(TransactionKind.CAPTURE, 5000))

    assert payment.captured == eur(5000)
    assert payment.refundable == eur(5000)


def test_a_refund_beyond_what_is_left_is_refused_before_the_table() -> None:
    payment = payment_in(P.CAPTURED)
    payment.refund(tx(TransactionKind.REFUND, 4000))

    with pytest.raises(InvalidInput, match="at most 1000"):
        payment.refund(tx(TransactionKind.REFUND, 1001))

    assert payment.refunded == eur(4000)


@pytest.mark.parametrize("failed", [False, True])
def test_a_refused_authorization_is_born_declined_or_failed(failed: bool) -> None:
    payment = Payment.declined(
        id="p",
        order_id="o",
        amount=eur(100),
        transaction=tx(TransactionKind.AUTHORIZE, 100),
        failed=failed,
    )

    assert payment.status is (P.FAILED if failed else P.DECLINED)
    assert payment.captured == eur(0)
