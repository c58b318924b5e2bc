"""The order state machine against its one table, TRANSITIONS: every pair the table lists can
happen, and every pair it does not list raises IllegalTransition and changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shopcore import IllegalTransition, InvalidInput
from shopcore.ordering.model import (
    CAPTURED_STATES,
    TRANSITIONS,
    Failure,
    Order,
    OrderLine,
    OrderStatus,
)
from shopcore.ordering.pricing import compute_totals
from tests.support.driver import ADDRESS, eur

S = OrderStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
# Every pair the table leaves out, except moves into pending_payment, which no verb asks for.
ILLEGAL = sorted(
    (a, b)
    for a, b in itertools.product(S, S)
    if b not in TRANSITIONS[a] and b is not S.PENDING_PAYMENT
)


def order_in(status: OrderStatus) -> Order:
    """An order of 10.00 + 4.95 shipping, no tax, put straight into `status`."""
    line = OrderLine(sku="TEE-M", name="Tee", quantity=1, unit_price=eur(1000))
    order = Order.place(
        id="order-1",
        customer_id="customer-1",
        cart_id="cart-1",
        lines=(line,),
        discounts=(),
        totals=compute_totals([line], [], eur(495), 0, "EUR"),
        shipping_address=ADDRESS,
        now=T0,
    )
    order.status = status
    order.payment_id = None if status is S.PENDING_PAYMENT else "payment-1"
    order.events.clear()
    return order


def refund(amount: int) -> Callable[[Order], None]:
    def step(order: Order) -> None:
        order.begin_refund("key", eur(amount))
        order.complete_refund("key", LATER)

    return step


# How to ask for each target state; the amounts assume nothing was refunded yet.
ATTEMPT: dict[OrderStatus, Callable[[Order], None]] = {
    S.PAYMENT_FAILED: lambda o: o.payment_failed(
        Failure(code="payment-declined", detail="declined"), LATER, "payment-2"
    ),
    S.CONFIRMED: lambda o: o.confirm("payment-2", LATER),
    S.CANCELLED: lambda o: o.cancel("because", LATER),
    S.SHIPPED: lambda o: o.ship(LATER),
    S.DELIVERED: lambda o: o.deliver(LATER),
    S.PARTIALLY_REFUNDED: refund(100),
    S.REFUNDED: refund(1495),
}


def test_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(S)
    assert S.PENDING_PAYMENT not in {b for targets in TRANSITIONS.values() for b in targets}


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_a_listed_transition_happens_and_is_recorded(
    source: OrderStatus, target: OrderStatus
) -> None:
    order = order_in(source)

    ATTEMPT[target](order)

    assert order.status is target
    assert (order.history[-1].from_status, order.history[-1].to_status) == (source, target)
    assert order.history[-1].at == LATER
    assert order.updated_at == LATER
    assert len(order.events) == 1


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_unlisted_transition_is_refused(source: OrderStatus, target: OrderStatus) -> None:
    order = order_in(source)
    history = list(order.history)

    with pytest.raises(IllegalTransition) as caught:
        ATTEMPT[target](order)

    assert caught.value.code == "illegal-transition"
    assert not order.can_move_to(target)
    assert order.status is source
    assert order.history == history
    assert order.refunds == []
    assert order.events == []


@pytest.mark.parametrize("source", sorted(S))
def test_no_order_goes_back_to_pending_payment(source: OrderStatus) -> None:
    """No verb asks for pending_payment: an order is only born in it."""
    assert not order_in(source).can_move_to(S.PENDING_PAYMENT)


def test_only_captured_states_have_money_to_refund() -> None:
    for status in S:
        order = order_in(status)
        expected = eur(1495) if status in CAPTURED_STATES else eur(0)
        assert (order.is_paid, order.refundable) == (status in CAPTURED_STATES, expected)


def test_an_order_being_shipped_cannot_be_cancelled() -> None:
    order = order_in(S.CONFIRMED)
    order.start_shipping(LATER)

    with pytest.raises(IllegalTransition, match="being shipped"):
        order.cancel("too late", LATER)

    order.stop_shipping()
    order.cancel("in time", LATER)
    assert order.status is S.CANCELLED


@pytest.mark.parametrize("status", sorted(set(S) - {S.CONFIRMED}))
def test_only_a_confirmed_order_starts_shipping(status: OrderStatus) -> None:
    order = order_in(status)

    with pytest.raises(IllegalTransition):
        order.start_shipping(LATER)

    assert order.shipping_started_at is None


def test_a_booked_refund_is_returned_again_for_its_key() -> None:
    order = order_in(S.SHIPPED)

    first = order.begin_refund("key", eur(500))
    again = order.begin_refund("key", eur(900))

    assert again == first
    assert order.refunds == [first]
    assert order.refund_pending == eur(500)


def test_completing_a_refund_twice_counts_it_once() -> None:
    order = order_in(S.SHIPPED)
    order.begin_refund("key", eur(500))

    order.complete_refund("key", LATER)
    order.complete_refund("key", LATER)

    assert order.refunded == eur(500)
    assert order.status is S.PARTIALLY_REFUNDED
    assert len(order.events) == 1


def test_a_completed_refund_is_not_abandoned() -> None:
    order = order_in(S.SHIPPED)
    order.begin_refund("done", eur(500))
    order.complete_refund("done", LATER)
    order.begin_refund("open", eur(100))

    order.abandon_refund("done")
    order.abandon_refund("open")

    assert [(r.key, r.completed) for r in order.refunds] == [("done", True)]


@pytest.mark.parametrize("step", ["complete", "abandon"])
def test_an_unknown_refund_key_is_refused(step: str) -> None:
    order = order_in(S.SHIPPED)

    with pytest.raises(InvalidInput, match="no refund booked"):
        if step == "complete":
            order.complete_refund("nope", LATER)
        else:
            order.abandon_refund("nope")
