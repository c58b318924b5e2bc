"""The model the shop state machine holds the shop to, kept by hand.

Stock is counted from reservations (direct holds and each order's own), a cart's status from
the order that holds it, and each order's state is an `OrderState` (order_saga.py) that the
machine compares with what the shop stores after every step. Each work on an order is the
list of its steps, built here from what the model knows at the moment it starts (the clock,
the stock left): the machine runs them to the end, or, after a crash, finds the prefix the
shop shows; the recovery job's pass is one more such work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from adapters.payments.simulated import APPROVE, DECLINE
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.model import OrderStatus
from shopcore.payments.model import PaymentStatus
from shopcore.shared.clock import Clock
from tests.properties.order_saga import (
    ENDED,
    OrderState,
    Step,
    allocate,
    bank_answers,
    book_refund,
    cancel,
    capture_at_bank,
    check_cart_out,
    complete_refund,
    confirm,
    end,
    fold,
    give_cart_back,
    hold_cart,
    pay_back,
    record_answer,
    record_capture,
    record_outage,
    record_void,
    release,
    reserve,
    save,
    settle,
    settle_unless_running,
    ship_stock,
    shipped,
    start_shipping,
    together,
    unsettle,
    void_at_bank,
)

S, R, P = OrderStatus, ReservationStatus, PaymentStatus


@dataclass
class ModelOrder:
    id: str
    customer: int
    cart_id: str
    lines: dict[str, int]
    token: str
    reserved_until: datetime
    total: int = 0  # as priced by the shop: read from the order it saved
    state: OrderState = field(default_factory=OrderState)


@dataclass
class ModelHold:
    """A reservation made directly (not by a checkout)."""

    lines: dict[str, int]
    status: ReservationStatus
    expires_at: datetime


@dataclass
class ModelCart:
    id: str
    customer: int
    lines: dict[str, int]
    changed_at: datetime  # the shop shows a customer the open cart changed last


class ShopModel:
    """What the shop holds, kept by hand: stock, reservations, carts and orders."""

    def __init__(self, clock: Clock, settle_within: timedelta, reservation_ttl: timedelta) -> None:
        self.clock = clock
        self.settle_within = settle_within
        self.reservation_ttl = reservation_ttl
        self.received: Counter[str] = Counter()
        self.adjusted: Counter[str] = Counter()
        self.stocked: set[str] = set()  # SKUs with a stock level row
        self.holds: dict[str, ModelHold] = {}
        self.orders: dict[str, ModelOrder] = {}
        self.carts: dict[str, ModelCart] = {}

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # -- stock -----------------------------------------------------------------------------
    def _reservations(self) -> Iterator[tuple[dict[str, int], ReservationStatus | None, datetime]]:
        for hold in self.holds.values():
            yield hold.lines, hold.status, hold.expires_at
        for order in self.orders.values():
            yield order.lines, order.state.reservation, order.reserved_until

    def _sum(self, sku: str, *statuses: ReservationStatus, live: bool = False) -> int:
        return sum(
            lines.get(sku, 0)
            for lines, status, expires_at in self._reservations()
            if status in statuses and (not live or expires_at > self.now)
        )

    def shipped(self, sku: str) -> int:
        return self._sum(sku, R.SHIPPED)

    def on_hand(self, sku: str) -> int:
        return self.received[sku] + self.adjusted[sku] - self.shipped(sku)

    def allocated(self, sku: str) -> int:
        return self._sum(sku, R.ALLOCATED)

    def reserved(self, sku: str) -> int:
        return self._sum(sku, R.ACTIVE, live=True)

    def available(self, sku: str) -> int:
        return self.on_hand(sku) - self.reserved(sku) - self.allocated(sku)

    def short_of(self, lines: dict[str, int]) -> set[str]:
        return {sku for sku, quantity in lines.items() if self.available(sku) < quantity}

    def expire(self) -> int:
        """What ExpireReservations sweeps: every active reservation past its time."""
        due_holds = [
            h for h in self.holds.values() if h.status is R.ACTIVE and h.expires_at <= self.now
        ]
        for hold in due_holds:
            hold.status = R.EXPIRED
        due_orders = [
            o
            for o in self.orders.values()
            if o.state.reservation is R.ACTIVE and o.reserved_until <= self.now
        ]
        for order in due_orders:
            self.become(order, replace(order.state, reservation=R.EXPIRED))
        return len(due_holds) + len(due_orders)

    # -- carts -----------------------------------------------------------------------------
    def holder(self, cart_id: str) -> ModelOrder | None:
        """The order holding the cart or having checked it out, if any."""
        return next(
            (o for o in self.orders.values() if o.cart_id == cart_id and o.state.cart),
            None,
        )

    def open_cart(self, customer: int) -> ModelCart | None:
        """The cart the shop hands the customer: of their open carts, the one changed last."""
        carts = [c for c in self.carts.values() if c.customer == customer and not self.holder(c.id)]
        return max(carts, key=lambda c: (c.changed_at, c.id), default=None)

    def new_cart(self, cart_id: str, customer: int) -> ModelCart:
        cart = self.carts[cart_id] = ModelCart(cart_id, customer, {}, self.now)
        return cart

    # -- orders ----------------------------------------------------------------------------
    def place(self, order_id: str, customer: int, cart: ModelCart, token: str) -> ModelOrder:
        order = ModelOrder(
            id=order_id,
            customer=customer,
            cart_id=cart.id,
            lines=dict(cart.lines),
            token=token,
            reserved_until=self.now + self.reservation_ttl,
        )
        self.orders[order_id] = order
        return order

    def run(self, order: ModelOrder, steps: Sequence[Step]) -> None:
        self.become(order, fold(order.state, steps)[-1])

    def become(self, order: ModelOrder, state: OrderState) -> None:
        if state.cart is not order.state.cart:  # held or given back: the cart changed now
            self.carts[order.cart_id].changed_at = self.now
        order.state = state

    def unsettled(self) -> list[ModelOrder]:
        return [o for o in self.orders.values() if o.state.settle_by is not None]

    def due(self) -> list[ModelOrder]:
        """What the recovery job takes, in its order: the most overdue first."""
        overdue = [
            (o.state.settle_by, o.id, o)
            for o in self.orders.values()
            if o.state.settle_by is not None and o.state.settle_by < self.now
        ]
        return [order for *_, order in sorted(overdue)]

    # -- the works, as lists of steps ------------------------------------------------------
    @property
    def _deadline(self) -> datetime:
        return self.now + self.settle_within

    def checkout(self, order: ModelOrder) -> list[Step]:
        """ordering/checkout.py, for an order its stock allows."""
        paying = [together(reserve, save(self._deadline), hold_cart)]
        if order.token == APPROVE:
            return [*paying, bank_answers(APPROVE), record_answer, *self._complete()]
        if order.token == DECLINE:
            declined = [
                bank_answers(DECLINE),
                record_answer,
                end(S.PAYMENT_FAILED, "payment-declined"),
            ]
            return [*paying, *declined, *self.undo()]
        outage = [record_outage, end(S.PAYMENT_FAILED, "payment-gateway-unavailable")]
        return [*paying, *outage, *self.undo()]

    def _complete(self) -> list[Step]:
        return [together(allocate, confirm, check_cart_out, settle)]

    def undo(self) -> list[Step]:
        """Settler.undo: stock and cart back, then the authorization voided."""
        voiding = [record_answer, void_at_bank, record_void]
        return [release, give_cart_back, *voiding, settle_unless_running(self.now)]

    def cancel(self) -> list[Step]:
        return [cancel(self._deadline), *self.undo()]

    def ship(self) -> list[Step]:
        return [start_shipping(self._deadline), *self._shipping()]

    def _shipping(self) -> list[Step]:
        return [check_cart_out, capture_at_bank, record_capture, ship_stock, shipped]

    def refund(self, order: ModelOrder, key: str, amount: int) -> list[Step]:
        """A new refund, or the replay of one (which finishes it if it is not yet done)."""
        booked = next((r for r in order.state.refunds if r.key == key), None)
        if booked is not None and booked.completed:
            return []
        start = unsettle(self._deadline) if booked else book_refund(key, amount, self._deadline)
        return [start, *self._pay_back(order, key, settle_when_done=True)]

    def _pay_back(self, order: ModelOrder, key: str, *, settle_when_done: bool) -> list[Step]:
        completing = complete_refund(key, order.total, settle_when_done=settle_when_done)
        return [pay_back(key, order.total), completing]

    def resume(self, order: ModelOrder) -> list[Step]:
        """Settler.resume: finish an overdue order's work, forward or back."""
        s = order.state
        if s.status is S.PENDING_PAYMENT:
            known = record_answer(s).payment  # on the books, or at the bank and recorded
            if known is P.DECLINED:
                return [record_answer, end(S.PAYMENT_FAILED, "payment-declined"), *self.undo()]
            if known is P.FAILED:
                ended = end(S.PAYMENT_FAILED, "payment-gateway-unavailable")
                return [record_answer, ended, *self.undo()]
            if known is not P.AUTHORIZED:
                return [record_answer, end(S.CANCELLED, "checkout-interrupted"), *self.undo()]
            if not self._allocatable(order):
                return [record_answer, end(S.CANCELLED, "out-of-stock"), *self.undo()]
            return [record_answer, *self._complete()]
        if s.status in ENDED:
            return self.undo()
        if s.status is S.CONFIRMED:
            return self._shipping() if s.shipping else [check_cart_out, settle]
        pending = [r.key for r in s.refunds if not r.completed]
        finishing = [
            step for key in pending for step in self._pay_back(order, key, settle_when_done=False)
        ]
        return [*finishing, settle]

    def _allocatable(self, order: ModelOrder) -> bool:
        """A lapsed reservation is committed only if its stock is still there without it."""
        s = order.state
        live = s.reservation is R.ACTIVE and order.reserved_until > self.now
        return s.reservation is R.ALLOCATED or live or not self.short_of(order.lines)
