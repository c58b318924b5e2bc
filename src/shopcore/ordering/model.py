"""Orders and the one table of legal state changes.

pending_payment -> confirmed -> shipped -> delivered
pending_payment -> payment_failed | cancelled
confirmed -> cancelled                      (before shipping: stock back, authorization voided)
shipped | delivered -> partially_refunded | refunded     (only after capture, at shipping)

Work on an order that spans several transactions (a checkout, a cancellation, a shipment, a
refund) marks the order unsettled in its first transaction, with the moment by which it must
be done (`settle_by`), and settles it in its last. An order still unsettled after that moment
was left half-way by a crash or a fault: the recovery job (settling.py) finishes the work from
what the order and its cart, reservation and payment say, all of them keyed by the order id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import msgspec

from shopcore.ordering.events import (
    OrderCancelled,
    OrderDelivered,
    OrderPaymentFailed,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
)
from shopcore.shared.address import Address
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import IllegalTransition, InvalidInput, ShopError, error_for
from shopcore.shared.money import Money, total


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAYMENT_FAILED = "payment_failed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.CONFIRMED, S.PAYMENT_FAILED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PAYMENT_FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
# States in which the order's payment has been captured.
CAPTURED_STATES = frozenset({S.SHIPPED, S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED})


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    amount: Money


class OrderTotals(msgspec.Struct, frozen=True, kw_only=True):
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money
    total: Money


class RefundEntry(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    amount: Money
    completed: bool


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """Why a checkout ended without an order: the error its customer was, or will be, answered
    (a retry with the same idempotency key gets the same one)."""

    code: str
    detail: str
    skus: tuple[str, ...] = ()

    @classmethod
    def of(cls, error: ShopError) -> Failure:
        return cls(code=error.code, detail=error.detail, skus=tuple(getattr(error, "skus", ())))

    def error(self) -> ShopError:
        return error_for(self.code, self.detail, self.skus)


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    reason: str = ""


@dataclass(kw_only=True)
class Order(Aggregate):
    id: str
    customer_id: str
    cart_id: str
    lines: tuple[OrderLine, ...]
    discounts: tuple[Discount, ...]
    totals: OrderTotals
    shipping_address: Address
    status: OrderStatus
    payment_id: str | None
    refunded: Money
    refunds: list[RefundEntry] = field(default_factory=list)
    shipping_started_at: datetime | None = None
    history: list[StatusChange] = field(default_factory=list)
    failure: Failure | None = None
    # Set while work spanning several transactions is under way: by then it must be done.
    settle_by: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def place(
        cls,
        *,
        id: str,
        customer_id: str,
        cart_id: str,
        lines: tuple[OrderLine, ...],
        discounts: tuple[Discount, ...],
        totals: OrderTotals,
        shipping_address: Address,
        now: datetime,
        settle_by: datetime | None = None,
    ) -> Order:
        """A new order, waiting for its payment; `settle_by` is when its checkout must be
        over (None: nothing is under way, as for an order written by hand)."""
        if not lines:
            raise InvalidInput("an order needs at least one line")
        return cls(
            id=id,
            customer_id=customer_id,
            cart_id=cart_id,
            lines=lines,
            discounts=discounts,
            totals=totals,
            shipping_address=shipping_address,
            status=S.PENDING_PAYMENT,
            payment_id=None,
            refunded=Money.zero(totals.total.currency),
            history=[StatusChange(from_status=None, to_status=S.PENDING_PAYMENT, at=now)],
            settle_by=settle_by,
            created_at=now,
            updated_at=now,
        )

    @property
    def reservation_id(self) -> str:
        return self.id  # one reservation per order, named after it

    @property
    def total(self) -> Money:
        return self.totals.total

    @property
    def refundable(self) -> Money:
        return self.total - self.refunded if self.is_paid else Money.zero(self.total.currency)

    @property
    def is_paid(self) -> bool:
        return self.status in CAPTURED_STATES

    def can_move_to(self, status: OrderStatus) -> bool:
        return status in TRANSITIONS[self.status]

    @property
    def settled(self) -> bool:
        return self.settle_by is None

    def unsettle(self, settle_by: datetime) -> None:
        """Work spanning several transactions starts: it must be done by `settle_by`."""
        self.settle_by = settle_by

    def settle(self) -> None:
        self.settle_by = None

    def payment_failed(self, failure: Failure, now: datetime, payment_id: str | None) -> None:
        self._move(S.PAYMENT_FAILED, now, failure.code)
        self.payment_id = payment_id
        self.failure = failure
        self.record(
            OrderPaymentFailed(order_id=self.id, customer_id=self.customer_id, reason=failure.code)
        )

    def confirm(self, payment_id: str, now: datetime) -> None:
        self._move(S.CONFIRMED, now)
        self.payment_id = payment_id
        self.record(OrderPlaced(order_id=self.id, customer_id=self.customer_id, total=self.total))

    def cancel(self, reason: str, now: datetime, failure: Failure | None = None) -> None:
        """Cancelled by the customer or staff (`reason` in their words), or by the checkout
        itself (`failure`: why it could not go on)."""
        if self.shipping_started_at is not None:
            raise IllegalTransition(f"order {self.id} is being shipped and cannot be cancelled")
        self._move(S.CANCELLED, now, reason)
        self.failure = failure
        self.record(OrderCancelled(order_id=self.id, customer_id=self.customer_id, reason=reason))

    def ship(self, now: datetime) -> None:
        self._move(S.SHIPPED, now)
        self.record(OrderShipped(order_id=self.id, customer_id=self.customer_id))

    def deliver(self, now: datetime) -> None:
        self._move(S.DELIVERED, now)
        self.record(OrderDelivered(order_id=self.id, customer_id=self.customer_id))

    @property
    def refund_pending(self) -> Money:
        pending = [refund.amount for refund in self.refunds if not refund.completed]
        return total(pending, self.total.currency)

    def begin_refund(self, key: str, amount: Money) -> RefundEntry:
        """Book a refund before the gateway is asked, so two concurrent refunds cannot both
        pass the limit: the second one's save fails on the version check. A key seen before
        returns its booking unchanged (a retry)."""
        for refund in self.refunds:
            if refund.key == key:
                return refund
        if not self.can_move_to(S.REFUNDED):
            raise IllegalTransition(f"order {self.id} is {self.status} and cannot be refunded")
        room = self.refundable - self.refund_pending
        if amount.currency != room.currency or amount.amount <= 0 or amount > room:
            raise InvalidInput(
                f"a refund must be positive and at most {room.amount} {room.currency}"
            )
        entry = RefundEntry(key=key, amount=amount, completed=False)
        self.refunds.append(entry)
        return entry

    def complete_refund(self, key: str, now: datetime) -> None:
        index, entry = self._refund(key)
        if entry.completed:
            return
        self.refunds[index] = msgspec.structs.replace(entry, completed=True)
        self.refunded = self.refunded + entry.amount
        full = self.refunded == self.total
        self._move(S.REFUNDED if full else S.PARTIALLY_REFUNDED, now)
        self.record(OrderRefunded(order_id=self.id, amount=entry.amount, fully=full))

    def abandon_refund(self, key: str) -> None:
        index, entry = self._refund(key)
        if not entry.completed:
            del self.refunds[index]

    def _refund(self, key: str) -> tuple[int, RefundEntry]:
        for index, entry in enumerate(self.refunds):
            if entry.key == key:
                return index, entry
        raise InvalidInput(f"no refund booked under {key!r}")

    def start_shipping(self, now: datetime) -> None:
        """Claim the order for shipping before capturing, so a concurrent cancel cannot void a
        payment that is being captured (the version check decides who wins)."""
        if self.status is not S.CONFIRMED:
            raise IllegalTransition(f"order {self.id} is {self.status} and cannot be shipped")
        if self.shipping_started_at is not None:
            # Another shipment runs (or died, and the recovery job finishes it).
            raise IllegalTransition(f"order {self.id} is already being shipped")
        self.shipping_started_at = now

    def stop_shipping(self) -> None:
        self.shipping_started_at = None

    def _move(self, status: OrderStatus, now: datetime, reason: str = "") -> None:
        if not self.can_move_to(status):
            raise IllegalTransition(f"order {self.id} cannot go from {self.status} to {status}")
        self.history.append(
            StatusChange(from_status=self.status, to_status=status, at=now, reason=reason)
        )
        self.status = status
        self.updated_at = now
