"""An order's state as the shop stores it, and the steps of the work on it, as the shop
takes them (ordering/checkout.py, ordering/settling.py).

`OrderState` is one order everywhere the shop keeps it: its own record, its reservation, its
cart, its payment and the bank's ledger. Each step of a checkout, a cancellation, a shipment,
a refund or a pass of the recovery job is a function of that state, and changes nothing when
it was taken already, as the shop's steps do. Run to the end, a work's steps give the state
the shop must show. A process killed half-way (tests/support/crashes.py) leaves the state
after some prefix of them, and no other (`fold` lists them all): which step a crash hit, the
k of the plan, is not needed, for a step may cost the shop one commit, several or none.

`assert_legal` is what holds of every order at every moment, whichever prefix a crash left:
stock is committed only to a held payment and money taken only for committed stock, the
books never run ahead of the bank, and a settled order holds exactly what its status says.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from adapters.payments.simulated import APPROVE
from shopcore.cart.model import CartStatus
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.model import CAPTURED_STATES, OrderStatus
from shopcore.payments.model import PaymentStatus

S, R, P, C = OrderStatus, ReservationStatus, PaymentStatus, CartStatus
ENDED = frozenset({S.PAYMENT_FAILED, S.CANCELLED})
PAID = frozenset({P.CAPTURED, P.PARTIALLY_REFUNDED, P.REFUNDED})


class Bank(StrEnum):
    """What the gateway's own ledger shows for an order's authorization."""

    UNASKED = "unasked"  # no answer kept under the order's key
    DECLINED = "declined"
    OPEN = "open"  # authorized; neither captured nor voided
    CAPTURED = "captured"
    VOIDED = "voided"


# The books follow the bank at most one step behind (first the answer, then its record) ...
BOOKS_BEHIND: dict[Bank, frozenset[PaymentStatus | None]] = {
    Bank.UNASKED: frozenset({None, P.FAILED}),
    Bank.DECLINED: frozenset({None, P.DECLINED}),
    Bank.OPEN: frozenset({None, P.AUTHORIZED}),
    Bank.VOIDED: frozenset({P.AUTHORIZED, P.VOIDED}),
    Bank.CAPTURED: frozenset({P.AUTHORIZED, *PAID}),
}
# ... and have caught up once the order is settled.
BOOKS_SETTLED: dict[Bank, frozenset[PaymentStatus | None]] = {
    Bank.UNASKED: frozenset({None, P.FAILED}),
    Bank.DECLINED: frozenset({P.DECLINED}),
    Bank.OPEN: frozenset({P.AUTHORIZED}),
    Bank.VOIDED: frozenset({P.VOIDED}),
    Bank.CAPTURED: PAID,
}


class Refund(NamedTuple):
    key: str  # the order's own key for it: "<order id>:refund:<idempotency key>"
    amount: int
    paid: bool  # paid back at the bank, and recorded on the payment
    completed: bool  # recorded on the order


@dataclass(frozen=True)
class OrderState:
    """An order as the shop stores it, everywhere it is stored."""

    path: tuple[OrderStatus, ...] = ()  # the statuses it went through; () while not saved
    settle_by: datetime | None = None
    failure: str | None = None  # the code of the error its checkout ended with
    shipping: bool = False
    reservation: ReservationStatus | None = None  # None: nothing reserved yet
    cart: CartStatus | None = None  # checking_out or checked_out by this order; else None
    payment: PaymentStatus | None = None  # the shop's books; None: nothing recorded
    bank: Bank = Bank.UNASKED
    refunds: tuple[Refund, ...] = ()

    @property
    def status(self) -> OrderStatus | None:
        return self.path[-1] if self.path else None

    @property
    def refunded(self) -> int:
        return sum(refund.amount for refund in self.refunds if refund.completed)

    @property
    def paid_back(self) -> int:
        return sum(refund.amount for refund in self.refunds if refund.paid)

    @property
    def pending(self) -> int:
        return sum(refund.amount for refund in self.refunds if not refund.completed)


Step = Callable[[OrderState], OrderState]


def assert_legal(s: OrderState, token: str) -> None:
    """What holds of an order at every moment, however far its work got."""
    if not s.path:  # the checkout died before saving it: only its reservation is left
        assert (s.payment, s.bank, s.cart) == (None, Bank.UNASKED, None), s
        assert s.reservation in {R.ACTIVE, R.EXPIRED}, s
        return
    assert s.payment in BOOKS_BEHIND[s.bank], s
    assert s.paid_back >= s.refunded, s
    if token != APPROVE:
        assert s.bank in {Bank.UNASKED, Bank.DECLINED} and S.CONFIRMED not in s.path, s
    # Stock is committed only to a held payment, and money taken only for committed stock.
    if s.reservation is R.ALLOCATED:
        assert s.payment in {P.AUTHORIZED, P.CAPTURED}, s
    if s.reservation is R.SHIPPED:
        assert s.payment in PAID, s
    if s.bank is Bank.CAPTURED:
        assert s.shipping and s.reservation in {R.ALLOCATED, R.SHIPPED}, s
    status = s.status
    if status is S.PENDING_PAYMENT:
        # Saved with its reservation, and allocated only together with its confirmation.
        assert s.reservation in {R.ACTIVE, R.EXPIRED}, s
        assert s.bank in {Bank.UNASKED, Bank.DECLINED, Bank.OPEN}, s
    elif status is S.CONFIRMED:
        assert s.reservation in ({R.ALLOCATED, R.SHIPPED} if s.shipping else {R.ALLOCATED}), s
        assert s.bank in ({Bank.OPEN, Bank.CAPTURED} if s.shipping else {Bank.OPEN}), s
    elif status in CAPTURED_STATES:
        assert (s.reservation, s.bank) == (R.SHIPPED, Bank.CAPTURED), s
    else:
        assert status in ENDED and not s.shipping and s.bank is not Bank.CAPTURED, s
    if s.settle_by is None:
        _assert_settled(s)


def _assert_settled(s: OrderState) -> None:
    """A settled order's books agree with the bank, and it holds what its status says."""
    assert s.payment in BOOKS_SETTLED[s.bank], s
    assert s.status is not S.PENDING_PAYMENT and s.cart is not C.CHECKING_OUT, s
    assert not s.pending and s.paid_back == s.refunded, s
    if s.status is S.CONFIRMED:
        assert (s.reservation, s.payment, s.cart) == (R.ALLOCATED, P.AUTHORIZED, C.CHECKED_OUT), s
    if s.status in ENDED:
        assert s.reservation not in {R.ACTIVE, R.ALLOCATED} and s.bank is not Bank.OPEN, s


# -- the steps, each as the shop takes it; each changes nothing when it was taken already -----


def _move(s: OrderState, status: OrderStatus) -> OrderState:
    return replace(s, path=(*s.path, status))


def reserve(s: OrderState) -> OrderState:
    return replace(s, reservation=R.ACTIVE)


def save(settle_by: datetime) -> Step:
    return lambda s: replace(s, path=(S.PENDING_PAYMENT,), settle_by=settle_by)


def hold_cart(s: OrderState) -> OrderState:
    return replace(s, cart=C.CHECKING_OUT)


def bank_answers(token: str) -> Step:
    return lambda s: replace(s, bank=Bank.OPEN if token == APPROVE else Bank.DECLINED)


def record_answer(s: OrderState) -> OrderState:
    """The bank's answer goes on the books (ReconcilePayment does the same after a crash)."""
    if s.payment is None and s.bank in {Bank.OPEN, Bank.DECLINED}:
        return replace(s, payment=P.AUTHORIZED if s.bank is Bank.OPEN else P.DECLINED)
    return s


def record_outage(s: OrderState) -> OrderState:
    return replace(s, payment=P.FAILED)


def allocate(s: OrderState) -> OrderState:
    return replace(s, reservation=R.ALLOCATED)


def confirm(s: OrderState) -> OrderState:
    return s if s.status is S.CONFIRMED else _move(s, S.CONFIRMED)


def check_cart_out(s: OrderState) -> OrderState:
    return replace(s, cart=C.CHECKED_OUT) if s.cart is C.CHECKING_OUT else s


def settle(s: OrderState) -> OrderState:
    return replace(s, settle_by=None)


def end(status: OrderStatus, failure: str) -> Step:
    """A checkout that cannot go on ends (unless it ended already)."""
    return lambda s: (
        replace(_move(s, status), failure=failure) if s.status is S.PENDING_PAYMENT else s
    )


def cancel(settle_by: datetime) -> Step:
    """Cancelled by the customer or staff; work already under way keeps its deadline."""
    return lambda s: replace(
        _move(s, S.CANCELLED), failure=None, settle_by=s.settle_by or settle_by
    )


def release(s: OrderState) -> OrderState:
    if s.reservation is R.ACTIVE:
        return replace(s, reservation=R.RELEASED)
    if s.reservation is R.ALLOCATED:
        return replace(s, reservation=R.DEALLOCATED)
    return s  # expired, or given back already


def give_cart_back(s: OrderState) -> OrderState:
    return replace(s, cart=None) if s.cart is C.CHECKING_OUT else s


def void_at_bank(s: OrderState) -> OrderState:
    return replace(s, bank=Bank.VOIDED) if s.payment is P.AUTHORIZED else s


def record_void(s: OrderState) -> OrderState:
    return replace(s, payment=P.VOIDED) if s.payment is P.AUTHORIZED else s


def settle_unless_running(now: datetime) -> Step:
    """An order cancelled while its checkout may still run waits for that checkout's deadline
    (settling.py: the checkout may yet get an authorization, which recovery then voids)."""

    def step(s: OrderState) -> OrderState:
        cancelled_pending = any(
            pair == (S.PENDING_PAYMENT, S.CANCELLED) for pair in itertools.pairwise(s.path)
        )
        running = s.failure is None and cancelled_pending
        if s.settle_by is not None and s.settle_by > now and running:
            return s
        return settle(s)

    return step


def start_shipping(settle_by: datetime) -> Step:
    return lambda s: replace(s, shipping=True, settle_by=settle_by)


def capture_at_bank(s: OrderState) -> OrderState:
    return replace(s, bank=Bank.CAPTURED) if s.payment is P.AUTHORIZED else s


def record_capture(s: OrderState) -> OrderState:
    return replace(s, payment=P.CAPTURED) if s.payment is P.AUTHORIZED else s


def ship_stock(s: OrderState) -> OrderState:
    return replace(s, reservation=R.SHIPPED) if s.reservation is R.ALLOCATED else s


def shipped(s: OrderState) -> OrderState:
    return settle(_move(s, S.SHIPPED) if s.status is S.CONFIRMED else s)


def deliver(s: OrderState) -> OrderState:
    return _move(s, S.DELIVERED)


def unsettle(settle_by: datetime) -> Step:
    return lambda s: replace(s, settle_by=settle_by)


def book_refund(key: str, amount: int, settle_by: datetime) -> Step:
    return lambda s: replace(
        s, refunds=(*s.refunds, Refund(key, amount, False, False)), settle_by=settle_by
    )


def pay_back(key: str, total: int) -> Step:
    """The bank pays the refund back and the payment records it (one step: the gateway's
    answer to a refund is not a crash boundary of tests/support/crashes.py)."""

    def step(s: OrderState) -> OrderState:
        refunds = tuple(r._replace(paid=True) if r.key == key else r for r in s.refunds)
        paid = replace(s, refunds=refunds)
        return replace(
            paid, payment=P.REFUNDED if paid.paid_back == total else P.PARTIALLY_REFUNDED
        )

    return step


def complete_refund(key: str, total: int, *, settle_when_done: bool) -> Step:
    def step(s: OrderState) -> OrderState:
        if all(r.completed for r in s.refunds if r.key == key):
            return s
        refunds = tuple(r._replace(completed=True) if r.key == key else r for r in s.refunds)
        done = replace(s, refunds=refunds)
        done = _move(done, S.REFUNDED if done.refunded == total else S.PARTIALLY_REFUNDED)
        return settle(done) if settle_when_done and not done.pending else done

    return step


def together(*steps: Step) -> Step:
    """Steps the shop takes in one transaction: a crash shows all of them or none."""

    def step(s: OrderState) -> OrderState:
        for each in steps:
            s = each(s)
        return s

    return step


def fold(state: OrderState, steps: Sequence[Step]) -> list[OrderState]:
    """The state before the steps and after each of them."""
    states = [state]
    for step in steps:
        states.append(step(states[-1]))
    return states
