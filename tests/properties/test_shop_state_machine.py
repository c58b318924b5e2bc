"""The whole in-memory shop driven by random sequences of operations, against a small model.

The machine predicts the outcome of every command (which domain error, if any) from its own
bookkeeping of receipts, adjustments, carts, orders and direct reservations, and after every
step checks the shop's books: stock levels, the audit trail, order states, payments and the
gateway's own ledger. Any exception that is not a ShopError is a bug and fails the run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from shopcore import (
    AddCartItem,
    AdjustStock,
    CancelOrder,
    CartAccess,
    ChangeCartItem,
    CreateCart,
    DeliverOrder,
    ExpireReservations,
    Money,
    PlaceOrder,
    ReceiveStock,
    RefundOrder,
    ReleaseReservation,
    RemoveCartItem,
    ReserveStock,
    ShipOrder,
)
from shopcore.cart.model import Cart
from shopcore.customers.model import Customer
from shopcore.inventory.commands import AllocateReservation
from shopcore.inventory.model import MovementKind, ReservationStatus
from shopcore.inventory.queries import movements, stock_levels
from shopcore.ordering.model import CAPTURED_STATES, TRANSITIONS, Order, OrderStatus
from shopcore.ordering.queries import list_orders
from shopcore.payments.model import Payment, PaymentStatus
from shopcore.payments.queries import payments_for_order
from shopcore.shared.errors import (
    EmptyCart,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    ShopError,
)
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver, build_driver

# The hypothesis profile's count (100; 10 under `make check`); SHOPCORE_STATEFUL_EXAMPLES sets
# it outright (CI: 500).
EXAMPLES = int(os.environ.get("SHOPCORE_STATEFUL_EXAMPLES", settings().max_examples))

# Two single-variant products and one product with two variants.
PRICES = {"MUG-1": 1250, "CAP-1": 4500, "TEE-S": 1999, "TEE-M": 1999}
SKUS = tuple(PRICES)
CUSTOMERS = 3
TOKENS = ("tok_visa", "tok_decline", "tok_error")
REFUND_KEYS = ("r1", "r2", "r3")
HOLD_TTLS = (60, 900)
S = OrderStatus
R = ReservationStatus
T = TypeVar("T")

sku_st = st.sampled_from(SKUS)
customer_st = st.integers(0, CUSTOMERS - 1)
# Mostly cards that go through, so orders get far enough to ship and refund.
token_st = st.one_of(st.just("tok_visa"), st.sampled_from(TOKENS))
hold_lines_st = st.dictionaries(sku_st, st.integers(1, 5), min_size=1, max_size=2)


@dataclass
class ModelOrder:
    customer: int
    lines: dict[str, int]
    status: OrderStatus
    total: int
    token: str
    refunded: int = 0
    refund_keys: set[str] = field(default_factory=set)


@dataclass
class ModelHold:
    lines: dict[str, int]
    status: ReservationStatus
    expires_at: datetime


class ShopMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.driver: ShopDriver = build_driver()
        self.customers: list[Customer] = self.run(self._setup())
        self.carts: list[dict[str, int]] = [{} for _ in range(CUSTOMERS)]
        self.received = dict.fromkeys(SKUS, 0)
        self.adjusted = dict.fromkeys(SKUS, 0)
        self.stocked: set[str] = set()  # SKUs with a stock level row
        self.model_orders: dict[str, ModelOrder] = {}
        self.model_holds: dict[str, ModelHold] = {}
        self.seen_paths: dict[str, list[OrderStatus]] = {}

    async def _setup(self) -> list[Customer]:
        await self.driver.product("MUG-1", price=PRICES["MUG-1"], category="mugs")
        await self.driver.product("CAP-1", price=PRICES["CAP-1"], category="caps")
        await self.driver.product("TEE-S", "TEE-M", price=PRICES["TEE-S"])
        return [await self.driver.customer() for _ in range(CUSTOMERS)]

    def teardown(self) -> None:
        self.runner.close()

    # -- plumbing --------------------------------------------------------------------------
    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def attempt(self, message: Any) -> tuple[Any, ShopError | None]:
        """Run a command: its result, or the domain error it ended with. Anything else
        propagates and fails the run."""
        try:
            return self.run(self.driver.handle(message)), None
        except ShopError as error:
            return None, error

    @property
    def now(self) -> datetime:
        return self.driver.clock.now()

    # -- the model's stock -----------------------------------------------------------------
    def shipped(self, sku: str) -> int:
        return sum(
            o.lines.get(sku, 0) for o in self.model_orders.values() if o.status in CAPTURED_STATES
        )

    def on_hand(self, sku: str) -> int:
        return self.received[sku] + self.adjusted[sku] - self.shipped(sku)

    def allocated(self, sku: str) -> int:
        by_orders = sum(
            o.lines.get(sku, 0) for o in self.model_orders.values() if o.status is S.CONFIRMED
        )
        by_holds = sum(
            h.lines.get(sku, 0) for h in self.model_holds.values() if h.status is R.ALLOCATED
        )
        return by_orders + by_holds

    def reserved(self, sku: str) -> int:
        return sum(
            h.lines.get(sku, 0)
            for h in self.model_holds.values()
            if h.status is R.ACTIVE and h.expires_at > self.now
        )

    def available(self, sku: str) -> int:
        return self.on_hand(sku) - self.reserved(sku) - self.allocated(sku)

    def short_of(self, lines: dict[str, int]) -> set[str]:
        return {sku for sku, quantity in lines.items() if self.available(sku) < quantity}

    def check_out_of_stock(self, error: ShopError | None, lines: dict[str, int]) -> None:
        assert isinstance(error, OutOfStock), error
        assert error.code == "out-of-stock"
        assert error.skus and set(error.skus) <= self.short_of(lines)

    # -- stock -----------------------------------------------------------------------------
    @initialize(opening=st.fixed_dictionaries({sku: st.integers(0, 40) for sku in SKUS}))
    def open_the_shop(self, opening: dict[str, int]) -> None:
        for sku, quantity in opening.items():
            if quantity:
                self.receive(sku, quantity)

    @rule(sku=sku_st, quantity=st.integers(1, 20))
    def receive(self, sku: str, quantity: int) -> None:
        _, error = self.attempt(ReceiveStock(sku=sku, quantity=quantity))
        assert error is None
        self.received[sku] += quantity
        self.stocked.add(sku)

    @rule(sku=sku_st, delta=st.integers(-15, 15).filter(bool))
    def adjust(self, sku: str, delta: int) -> None:
        fits = self.on_hand(sku) + delta >= self.reserved(sku) + self.allocated(sku)
        _, error = self.attempt(AdjustStock(sku=sku, delta=delta, reason="stock count"))
        if fits:
            assert error is None
            self.adjusted[sku] += delta
            self.stocked.add(sku)
        else:
            assert isinstance(error, InsufficientStock), error
            assert error.code == "insufficient-stock"

    @rule(target=holds, lines=hold_lines_st, ttl=st.sampled_from(HOLD_TTLS))
    def reserve_directly(self, lines: dict[str, int], ttl: int) -> Any:
        hold_id = f"hold-{new_id()}"
        short = self.short_of(lines)
        _, error = self.attempt(
            ReserveStock(reservation_id=hold_id, lines=tuple(lines.items()), ttl_seconds=ttl)
        )
        if short:
            self.check_out_of_stock(error, lines)
            return multiple()
        assert error is None
        self.model_holds[hold_id] = ModelHold(
            lines=lines, status=R.ACTIVE, expires_at=self.now + timedelta(seconds=ttl)
        )
        return hold_id

    @rule(hold_id=holds)
    def release_hold(self, hold_id: str) -> None:
        hold = self.model_holds[hold_id]
        reservation, error = self.attempt(ReleaseReservation(reservation_id=hold_id))
        assert error is None
        if hold.status is R.ACTIVE:
            hold.status = R.RELEASED
        elif hold.status is R.ALLOCATED:
            hold.status = R.DEALLOCATED
        assert reservation.status is hold.status

    @rule(hold_id=holds)
    def allocate_hold(self, hold_id: str) -> None:
        hold = self.model_holds[hold_id]
        # A lapsed hold, swept or not, no longer counts as reserved: it is committed only if
        # its stock is still available without it.
        lapsed = hold.status is R.EXPIRED or (
            hold.status is R.ACTIVE and hold.expires_at <= self.now
        )
        reservation, error = self.attempt(AllocateReservation(reservation_id=hold_id))
        if hold.status in {R.RELEASED, R.DEALLOCATED}:
            assert isinstance(error, IllegalTransition), error
        elif lapsed and self.short_of(hold.lines):
            self.check_out_of_stock(error, hold.lines)
        else:
            assert error is None
            hold.status = R.ALLOCATED
            assert reservation.status is R.ALLOCATED

    @rule(seconds=st.sampled_from([30, 120, 600]))
    def advance_clock(self, seconds: int) -> None:
        self.driver.clock.advance(seconds=seconds)

    @rule(past_ttl=st.booleans())
    def expire_holds(self, past_ttl: bool) -> None:
        """Sweep expired holds, after letting every hold's TTL run out or right away."""
        if past_ttl:
            self.driver.clock.advance(seconds=max(HOLD_TTLS) + 1)
        due = [
            h
            for h in self.model_holds.values()
            if h.status is R.ACTIVE and h.expires_at <= self.now
        ]
        count, error = self.attempt(ExpireReservations())
        assert error is None
        assert count == len(due)
        for hold in due:
            hold.status = R.EXPIRED

    # -- carts -----------------------------------------------------------------------------
    def cart_of(self, customer: int) -> Cart:
        opened, error = self.attempt(CreateCart(customer_id=self.customers[customer].id))
        assert error is None
        cart: Cart = opened.cart
        assert {line.sku: line.quantity for line in cart.lines} == self.carts[customer]
        return cart

    def access(self, customer: int) -> CartAccess:
        return CartAccess(customer_id=self.customers[customer].id)

    @rule(customer=customer_st, sku=sku_st, quantity=st.integers(1, 4))
    def add_to_cart(self, customer: int, sku: str, quantity: int) -> None:
        cart = self.cart_of(customer)
        wanted = self.carts[customer].get(sku, 0) + quantity
        changed, error = self.attempt(
            AddCartItem(cart_id=cart.id, access=self.access(customer), sku=sku, quantity=quantity)
        )
        if wanted > 100:
            assert isinstance(error, InvalidInput), error
            return
        assert error is None
        self.carts[customer][sku] = wanted
        assert {line.sku: line.quantity for line in changed.lines} == self.carts[customer]

    @rule(customer=customer_st, sku=sku_st, quantity=st.integers(1, 4))
    def change_cart_line(self, customer: int, sku: str, quantity: int) -> None:
        cart = self.cart_of(customer)
        _, error = self.attempt(
            ChangeCartItem(
                cart_id=cart.id, access=self.access(customer), sku=sku, quantity=quantity
            )
        )
        if sku not in self.carts[customer]:
            assert isinstance(error, NotFound), error
            return
        assert error is None
        self.carts[customer][sku] = quantity

    @rule(customer=customer_st, sku=sku_st)
    def remove_cart_line(self, customer: int, sku: str) -> None:
        cart = self.cart_of(customer)
        _, error = self.attempt(
            RemoveCartItem(cart_id=cart.id, access=self.access(customer), sku=sku)
        )
        if sku not in self.carts[customer]:
            assert isinstance(error, NotFound), error
            return
        assert error is None
        del self.carts[customer][sku]

    # -- orders ----------------------------------------------------------------------------
    @rule(
        target=orders,
        customer=customer_st,
        top_up=st.dictionaries(sku_st, st.integers(1, 3), max_size=2),
        token=token_st,
    )
    def checkout(self, customer: int, top_up: dict[str, int], token: str) -> Any:
        """Put `top_up` in the cart (often nothing), then check it out."""
        for sku, quantity in top_up.items():
            self.add_to_cart(customer, sku, quantity)
        cart = self.cart_of(customer)
        lines = dict(self.carts[customer])
        order_id = new_id()
        order, error = self.attempt(
            PlaceOrder(
                customer_id=self.customers[customer].id,
                cart_id=cart.id,
                shipping_address=ADDRESS,
                payment_token=token,
                order_id=order_id,
            )
        )
        if not lines:
            assert isinstance(error, EmptyCart), error
            return multiple()
        if self.short_of(lines):
            self.check_out_of_stock(error, lines)
            assert isinstance(error, OutOfStock)
            for sku in error.skus:  # the customer gives up what is not there
                self.remove_cart_line(customer, sku)
            return multiple()
        if token == "tok_visa":
            assert error is None
            assert order.status is S.CONFIRMED
            self.carts[customer] = {}
            status = S.CONFIRMED
        else:
            expected = PaymentDeclined if token == "tok_decline" else PaymentGatewayUnavailable
            assert type(error) is expected, error
            order = self.run(self._order(order_id))
            status = S.PAYMENT_FAILED
        assert {line.sku: line.quantity for line in order.lines} == lines
        assert order.totals.subtotal.amount == sum(PRICES[s] * q for s, q in lines.items())
        self.model_orders[order_id] = ModelOrder(
            customer=customer, lines=lines, status=status, total=order.total.amount, token=token
        )
        return order_id

    async def _order(self, order_id: str) -> Order:
        uow = self.driver.shop.uow()
        async with uow:
            order = await uow.orders.get(order_id)
        assert order is not None
        return order

    @rule(order_id=orders, who=st.sampled_from(["owner", "other", "staff"]))
    def cancel(self, order_id: str, who: str) -> None:
        model = self.model_orders[order_id]
        asking = {
            "owner": self.customers[model.customer].id,
            "other": self.customers[(model.customer + 1) % CUSTOMERS].id,
            "staff": None,
        }[who]
        _, error = self.attempt(CancelOrder(order_id=order_id, customer_id=asking))
        if who == "other":
            assert isinstance(error, NotFound), error
        elif model.status is S.CONFIRMED:
            assert error is None
            model.status = S.CANCELLED
        else:
            assert isinstance(error, IllegalTransition), error

    @rule(order_id=orders, and_deliver=st.booleans())
    def ship(self, order_id: str, and_deliver: bool) -> None:
        model = self.model_orders[order_id]
        _, error = self.attempt(ShipOrder(order_id=order_id))
        if model.status is S.CONFIRMED:
            assert error is None
            model.status = S.SHIPPED
            if and_deliver:
                self.deliver(order_id)
        else:
            assert isinstance(error, IllegalTransition), error

    @rule(order_id=orders)
    def deliver(self, order_id: str) -> None:
        model = self.model_orders[order_id]
        _, error = self.attempt(DeliverOrder(order_id=order_id))
        if model.status is S.SHIPPED:
            assert error is None
            model.status = S.DELIVERED
        else:
            assert isinstance(error, IllegalTransition), error

    @rule(
        order_id=orders,
        amount=st.one_of(st.none(), st.integers(1, 6000)),
        key=st.sampled_from(REFUND_KEYS),
    )
    def refund(self, order_id: str, amount: int | None, key: str) -> None:
        """`amount` None asks for everything still refundable: a full refund."""
        model = self.model_orders[order_id]
        room = model.total - model.refunded
        wanted = room if amount is None else amount
        _, error = self.attempt(
            RefundOrder(order_id=order_id, amount=Money(wanted, "EUR"), idempotency_key=key)
        )
        if key in model.refund_keys:
            assert error is None  # a replay of a completed refund changes nothing
        elif model.status not in {S.SHIPPED, S.DELIVERED, S.PARTIALLY_REFUNDED}:
            assert isinstance(error, IllegalTransition), error
        elif wanted > room:
            assert isinstance(error, InvalidInput), error
        else:
            assert error is None
            model.refund_keys.add(key)
            model.refunded += wanted
            model.status = S.REFUNDED if model.refunded == model.total else S.PARTIALLY_REFUNDED

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def books_balance(self) -> None:
        self.run(self._check_books())

    async def _check_books(self) -> None:
        await self._check_stock()
        orders = await self._check_orders()
        await self._check_money(orders)

    async def _check_stock(self) -> None:
        levels = await stock_levels(self.driver.shop.uow(), SKUS, self.now)
        assert {level.sku for level in levels} == self.stocked
        assert all(level.location == "main" for level in levels)
        for level in levels:
            sku = level.sku
            assert min(level.on_hand, level.reserved, level.allocated, level.available) >= 0
            assert level.on_hand == self.on_hand(sku)
            assert level.reserved == self.reserved(sku)
            assert level.allocated == self.allocated(sku)
            trail = await movements(self.driver.shop.uow(), sku)
            by_kind = {kind: sum(m.delta for m in trail if m.kind is kind) for kind in MovementKind}
            assert by_kind[MovementKind.RECEIVED] == self.received[sku]
            assert by_kind[MovementKind.ADJUSTED] == self.adjusted[sku]
            assert -by_kind[MovementKind.SHIPPED] == self.shipped(sku)
            # Never more committed or sent than ever came in.
            assert level.allocated + self.shipped(sku) <= self.received[sku] + self.adjusted[sku]

    async def _check_orders(self) -> dict[str, Order]:
        page = await list_orders(self.driver.shop.uow(), customer_id=None, limit=100)
        assert page.next_cursor is None
        orders = {order.id: order for order in page.items}
        assert orders.keys() == self.model_orders.keys()
        for order_id, order in orders.items():
            model = self.model_orders[order_id]
            assert order.status is model.status
            assert order.refunded.amount == model.refunded
            assert order.total.amount == model.total
            self._check_history(order)
        return orders

    def _check_history(self, order: Order) -> None:
        """The recorded history is a legal path, it only ever grows, and it runs through the
        status seen after the previous step."""
        history = order.history
        assert history[0].from_status is None and history[0].to_status is S.PENDING_PAYMENT
        for before, after in itertools.pairwise(history):
            assert after.from_status is before.to_status
            assert after.to_status in TRANSITIONS[before.to_status]
        assert history[-1].to_status is order.status
        # Between steps an order moves only forward along the table, from where it was seen.
        path = [change.to_status for change in history]
        seen = self.seen_paths.get(order.id, [])
        assert path[: len(seen)] == seen
        self.seen_paths[order.id] = path

    async def _check_money(self, orders: dict[str, Order]) -> None:
        uow = self.driver.shop.uow()
        all_payments: list[Payment] = []
        for order in orders.values():
            payments = await payments_for_order(self.driver.shop.uow(), order.id)
            # Every stored order reached the gateway exactly once.
            assert len(payments) == 1
            payment = payments[0]
            all_payments.append(payment)
            assert payment.amount == order.total
            assert order.payment_id == payment.id
            owed = order.total - order.refunded if order.status in CAPTURED_STATES else None
            held = payment.captured - payment.refunded
            assert held.amount == (0 if owed is None else owed.amount)
            assert payment.status is _expected_payment(order, self.model_orders[order.id].token)
            async with uow:
                reservation = await uow.stock.reservation(order.reservation_id)
            assert reservation is not None
            # Money is held only for stock that is committed to the order or already sent.
            if payment.status is PaymentStatus.AUTHORIZED:
                assert reservation.status is R.ALLOCATED
            if payment.captured.amount > 0:
                assert reservation.status is R.SHIPPED
        assert len(self.driver.store.payments) == len(all_payments)

        gateway = self.driver.gateway
        assert gateway.captured_total == sum(p.captured.amount for p in all_payments)
        assert gateway.refunded_total == sum(p.refunded.amount for p in all_payments)
        approved = {p.gateway_reference: p for p in all_payments if p.gateway_reference}
        assert approved.keys() == gateway.charges.keys()
        for reference, charge in gateway.charges.items():
            payment = approved[reference]
            assert charge.captured == payment.captured.amount
            assert charge.refunded == payment.refunded.amount
            assert charge.voided == (payment.status is PaymentStatus.VOIDED)

        ever_confirmed = sum(
            any(change.to_status is S.CONFIRMED for change in order.history)
            for order in orders.values()
        )
        confirmations = [n for n in self.driver.notifier.sent if "confirmed" in n.subject]
        assert len(confirmations) == ever_confirmed


def _expected_payment(order: Order, token: str) -> PaymentStatus:
    if order.status is S.PAYMENT_FAILED:
        return PaymentStatus.DECLINED if token == "tok_decline" else PaymentStatus.FAILED
    return {
        S.CONFIRMED: PaymentStatus.AUTHORIZED,
        S.CANCELLED: PaymentStatus.VOIDED,
        S.SHIPPED: PaymentStatus.CAPTURED,
        S.DELIVERED: PaymentStatus.CAPTURED,
        S.PARTIALLY_REFUNDED: PaymentStatus.PARTIALLY_REFUNDED,
        S.REFUNDED: PaymentStatus.REFUNDED,
    }[order.status]


ShopMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None
)
TestShopStateMachine = ShopMachine.TestCase
