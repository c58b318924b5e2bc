"""The whole in-memory shop driven by random sequences of operations, against a small model.

The machine predicts the outcome of every command (which domain error, if any) from its model
(shop_model.py) of receipts, adjustments, reservations, carts and orders, and after every step
checks the shop's books against it: stock levels, the audit trail, every reservation, cart
and order, payments and the gateway's own ledger. Any exception that is not a ShopError is a
bug and fails the run.

Crashes are part of the sequences: a step may kill the process after the k-th step boundary
(a commit, or a gateway answer the shop never wrote down: tests/support/crashes.py) of a
checkout, a cancellation, a shipment, a refund or the recovery job's own pass, and other
steps let time pass, sweep expired reservations and run the recovery job. An order a crash
left is in doubt until the job finishes it: its stock may still be reserved or allocated,
its cart held, its authorization open at the bank and not yet on the books. The model does
not guess which: the shop must show the state after some prefix of the work's steps
(order_saga.py); the model takes that one and predicts everything after it exactly, what the
recovery job does included. At every step every order is in a legal state (`assert_legal`:
those in-between states, and nothing more), and each order the recovery job finishes passes
the books' own check (tests/support/books.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from collections.abc import Coroutine
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
    precondition,
    rule,
)

from adapters.memory.store import MemoryStore
from adapters.payments.simulated import APPROVE, DECLINE, OUTAGE
from apps.settings import Settings
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
    RecoverOrders,
    RefundOrder,
    ReleaseReservation,
    RemoveCartItem,
    ReserveStock,
    ShipOrder,
)
from shopcore.cart.model import Cart, CartStatus
from shopcore.customers.model import Customer
from shopcore.inventory.commands import AllocateReservation
from shopcore.inventory.model import MovementKind, ReservationStatus
from shopcore.inventory.queries import movements, stock_levels
from shopcore.ordering.model import CAPTURED_STATES, TRANSITIONS, Order, OrderStatus
from shopcore.ordering.queries import list_orders
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
from tests.properties.order_saga import OrderState, Step, assert_legal, deliver, fold
from tests.properties.shop_model import ModelCart, ModelHold, ModelOrder, ShopModel
from tests.properties.shop_records import Stored, read
from tests.support.books import assert_order_settled
from tests.support.crashes import Crash, CrashingGateway, CrashingUnitOfWork, CrashPlan
from tests.support.driver import ADDRESS, ShopDriver, build_driver

# The hypothesis profile's count (100; 10 under `make check`); SHOPCORE_STATEFUL_EXAMPLES sets
# it outright (CI: 500).
EXAMPLES = int(os.environ.get("SHOPCORE_STATEFUL_EXAMPLES", settings().max_examples))

SETTINGS = Settings()
SETTLE_WITHIN = timedelta(seconds=SETTINGS.settle_within_seconds)
RESERVATION_TTL = timedelta(seconds=SETTINGS.reservation_ttl_seconds)
# Two single-variant products and one product with two variants.
PRICES = {"MUG-1": 1250, "CAP-1": 4500, "TEE-S": 1999, "TEE-M": 1999}
SKUS = tuple(PRICES)
CUSTOMERS = 3
TOKENS = (APPROVE, DECLINE, OUTAGE)
REFUND_KEYS = ("r1", "r2", "r3")
HOLD_TTLS = (60, 900)
S = OrderStatus
R = ReservationStatus
T = TypeVar("T")

sku_st = st.sampled_from(SKUS)
customer_st = st.integers(0, CUSTOMERS - 1)
# Mostly cards that go through, so orders get far enough to ship and refund.
token_st = st.one_of(st.just(APPROVE), st.sampled_from(TOKENS))
hold_lines_st = st.dictionaries(sku_st, st.integers(1, 5), min_size=1, max_size=2)
# The step boundary after which the process dies; past a work's last one, it does not.
crash_st = st.integers(1, 10)


class ShopMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.plan = CrashPlan()
        store = MemoryStore()
        self.driver: ShopDriver = build_driver(
            SETTINGS,
            store=store,
            gateway=CrashingGateway(plan=self.plan),
            unit_of_work=lambda: CrashingUnitOfWork(store, self.plan),
        )
        self.customers: list[Customer] = self.run(self._setup())
        self.model = ShopModel(self.driver.clock, SETTLE_WITHIN, RESERVATION_TTL)

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

    def attempt_or_crash(
        self, message: Any, crash_after: int
    ) -> tuple[Any, ShopError | None] | None:
        """`attempt`, with the process killed after the command's `crash_after`-th step
        boundary (0: never); None when it died. The shop's storage, the bank and the mailbox
        outlive it; the next command runs in the restarted process."""
        self.plan.seen.clear()
        self.plan.at, self.plan.armed = crash_after, True
        try:
            return self.attempt(message)
        except Crash:
            return None
        finally:
            self.plan.armed = False

    def read_crash(self, order: ModelOrder, steps: list[Step], *also: OrderState) -> bool:
        """A crash stopped the order's work: the shop shows the state after some prefix of
        its steps (or one of `also`), which the model takes. Whether the work was done."""
        observed = self.run(self._read(order)).state
        states = fold(order.state, steps)
        assert observed in (*states, *also), f"a crash left {observed}, off the way {states}"
        self.model.become(order, observed)
        return observed == states[-1]

    @property
    def now(self) -> datetime:
        return self.driver.clock.now()

    def check_out_of_stock(self, error: ShopError | None, lines: dict[str, int]) -> None:
        assert isinstance(error, OutOfStock), error
        assert error.code == "out-of-stock"
        assert error.skus and set(error.skus) <= self.model.short_of(lines)

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
        self.model.received[sku] += quantity
        self.model.stocked.add(sku)

    @rule(sku=sku_st, delta=st.integers(-15, 15).filter(bool))
    def adjust(self, sku: str, delta: int) -> None:
        model = self.model
        fits = model.on_hand(sku) + delta >= model.reserved(sku) + model.allocated(sku)
        _, error = self.attempt(AdjustStock(sku=sku, delta=delta, reason="stock count"))
        if fits:
            assert error is None
            model.adjusted[sku] += delta
            model.stocked.add(sku)
        else:
            assert isinstance(error, InsufficientStock), error
            assert error.code == "insufficient-stock"

    @rule(target=holds, lines=hold_lines_st, ttl=st.sampled_from(HOLD_TTLS))
    def reserve_directly(self, lines: dict[str, int], ttl: int) -> Any:
        hold_id = f"hold-{new_id()}"
        short = self.model.short_of(lines)
        _, error = self.attempt(
            ReserveStock(reservation_id=hold_id, lines=tuple(lines.items()), ttl_seconds=ttl)
        )
        if short:
            self.check_out_of_stock(error, lines)
            return multiple()
        assert error is None
        self.model.holds[hold_id] = ModelHold(
            lines=lines, status=R.ACTIVE, expires_at=self.now + timedelta(seconds=ttl)
        )
        return hold_id

    @rule(hold_id=holds)
    def release_hold(self, hold_id: str) -> None:
        hold = self.model.holds[hold_id]
        reservation, error = self.attempt(ReleaseReservation(reservation_id=hold_id))
        assert error is None
        if hold.status is R.ACTIVE:
            hold.status = R.RELEASED
        elif hold.status is R.ALLOCATED:
            hold.status = R.DEALLOCATED
        assert reservation.status is hold.status

    @rule(hold_id=holds)
    def allocate_hold(self, hold_id: str) -> None:
        hold = self.model.holds[hold_id]
        # A lapsed hold, swept or not, no longer counts as reserved: it is committed only if
        # its stock is still available without it.
        lapsed = hold.status is R.EXPIRED or (
            hold.status is R.ACTIVE and hold.expires_at <= self.now
        )
        reservation, error = self.attempt(AllocateReservation(reservation_id=hold_id))
        if hold.status in {R.RELEASED, R.DEALLOCATED}:
            assert isinstance(error, IllegalTransition), error
        elif lapsed and self.model.short_of(hold.lines):
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
        """Sweep expired reservations (direct holds, and those of checkouts a crash left),
        after letting every one's TTL run out or right away."""
        if past_ttl:
            longest = max(*HOLD_TTLS, SETTINGS.reservation_ttl_seconds)
            self.driver.clock.advance(seconds=longest + 1)
        count, error = self.attempt(ExpireReservations())
        assert error is None
        assert count == self.model.expire()

    # -- carts -----------------------------------------------------------------------------
    def cart_of(self, customer: int) -> ModelCart:
        expected = self.model.open_cart(customer)
        opened, error = self.attempt(CreateCart(customer_id=self.customers[customer].id))
        assert error is None
        cart: Cart = opened.cart
        if expected is None:  # all their carts are held or checked out: a new one
            expected = self.model.new_cart(cart.id, customer)
        assert cart.id == expected.id
        assert _lines(cart) == expected.lines
        return expected

    def access(self, customer: int) -> CartAccess:
        return CartAccess(customer_id=self.customers[customer].id)

    @rule(customer=customer_st, sku=sku_st, quantity=st.integers(1, 4))
    def add_to_cart(self, customer: int, sku: str, quantity: int) -> None:
        cart = self.cart_of(customer)
        wanted = cart.lines.get(sku, 0) + quantity
        changed, error = self.attempt(
            AddCartItem(cart_id=cart.id, access=self.access(customer), sku=sku, quantity=quantity)
        )
        if wanted > 100:
            assert isinstance(error, InvalidInput), error
            return
        assert error is None
        cart.lines[sku], cart.changed_at = wanted, self.now
        assert _lines(changed) == cart.lines

    @rule(customer=customer_st, sku=sku_st, quantity=st.integers(1, 4))
    def change_cart_line(self, customer: int, sku: str, quantity: int) -> None:
        cart = self.cart_of(customer)
        _, error = self.attempt(
            ChangeCartItem(
                cart_id=cart.id, access=self.access(customer), sku=sku, quantity=quantity
            )
        )
        if sku not in cart.lines:
            assert isinstance(error, NotFound), error
            return
        assert error is None
        cart.lines[sku], cart.changed_at = quantity, self.now

    @rule(customer=customer_st, sku=sku_st)
    def remove_cart_line(self, customer: int, sku: str) -> None:
        cart = self.cart_of(customer)
        _, error = self.attempt(
            RemoveCartItem(cart_id=cart.id, access=self.access(customer), sku=sku)
        )
        if sku not in cart.lines:
            assert isinstance(error, NotFound), error
            return
        assert error is None
        del cart.lines[sku]
        cart.changed_at = self.now

    # -- orders ----------------------------------------------------------------------------
    @rule(
        target=orders,
        customer=customer_st,
        top_up=st.dictionaries(sku_st, st.integers(1, 3), max_size=2),
        token=token_st,
    )
    def checkout(self, customer: int, top_up: dict[str, int], token: str) -> Any:
        """Put `top_up` in the cart (often nothing), then check it out."""
        return self.place(customer, top_up, token, crash_after=0)

    @rule(
        target=orders,
        customer=customer_st,
        top_up=st.dictionaries(sku_st, st.integers(1, 3), max_size=2),
        token=token_st,
        crash_after=crash_st,
    )
    def checkout_and_crash(
        self, customer: int, top_up: dict[str, int], token: str, crash_after: int
    ) -> Any:
        return self.place(customer, top_up, token, crash_after=crash_after)

    def place(self, customer: int, top_up: dict[str, int], token: str, crash_after: int) -> Any:
        for sku, quantity in top_up.items():
            self.add_to_cart(customer, sku, quantity)
        cart = self.cart_of(customer)
        order_id = new_id()
        message = PlaceOrder(
            customer_id=self.customers[customer].id,
            cart_id=cart.id,
            shipping_address=ADDRESS,
            payment_token=token,
            order_id=order_id,
        )
        if not cart.lines or self.model.short_of(cart.lines):
            _, error = self.attempt(message)
            if not cart.lines:
                assert isinstance(error, EmptyCart), error
            else:
                self.check_out_of_stock(error, cart.lines)
                assert isinstance(error, OutOfStock)
                for sku in error.skus:  # the customer gives up what is not there
                    self.remove_cart_line(customer, sku)
            return multiple()
        order = self.model.place(order_id, customer, cart, token)
        steps = self.model.checkout(order)
        outcome = self.attempt_or_crash(message, crash_after)
        if outcome is None:
            self.read_crash(order, steps)
        else:
            placed, error = outcome
            if token == APPROVE:
                assert error is None
                assert placed.status is S.CONFIRMED
            else:
                expected = PaymentDeclined if token == DECLINE else PaymentGatewayUnavailable
                assert type(error) is expected, error
            self.model.run(order, steps)
        stored = self.run(self._order(order_id))
        if stored is None:  # died before saving it: only its reservation is left, to expire
            return multiple()
        assert {line.sku: line.quantity for line in stored.lines} == order.lines
        assert stored.totals.subtotal.amount == sum(PRICES[s] * q for s, q in order.lines.items())
        order.total = stored.total.amount
        return order_id

    async def _order(self, order_id: str) -> Order | None:
        uow = self.driver.shop.uow()
        async with uow:
            return await uow.orders.get(order_id)

    @rule(order_id=orders, who=st.sampled_from(["owner", "other", "staff"]))
    def cancel(self, order_id: str, who: str) -> None:
        self.cancel_order(order_id, who, crash_after=0)

    @rule(order_id=orders, crash_after=crash_st)
    def cancel_and_crash(self, order_id: str, crash_after: int) -> None:
        self.cancel_order(order_id, "staff", crash_after)

    def cancel_order(self, order_id: str, who: str, crash_after: int) -> None:
        order = self.model.orders[order_id]
        asking = {
            "owner": self.customers[order.customer].id,
            "other": self.customers[(order.customer + 1) % CUSTOMERS].id,
            "staff": None,
        }[who]
        state = order.state
        cancellable = state.status is S.PENDING_PAYMENT or (
            state.status is S.CONFIRMED and not state.shipping
        )
        steps = self.model.cancel() if cancellable and who != "other" else []
        outcome = self.attempt_or_crash(
            CancelOrder(order_id=order_id, customer_id=asking), crash_after
        )
        if outcome is None:
            self.read_crash(order, steps)
            return
        _, error = outcome
        if who == "other":
            assert isinstance(error, NotFound), error
        elif cancellable:
            assert error is None
        else:
            assert isinstance(error, IllegalTransition), error
        self.model.run(order, steps)

    @rule(order_id=orders, and_deliver=st.booleans())
    def ship(self, order_id: str, and_deliver: bool) -> None:
        if self.ship_order(order_id, crash_after=0) and and_deliver:
            self.deliver(order_id)

    @rule(order_id=orders, crash_after=crash_st)
    def ship_and_crash(self, order_id: str, crash_after: int) -> None:
        self.ship_order(order_id, crash_after)

    def ship_order(self, order_id: str, crash_after: int) -> bool:
        order = self.model.orders[order_id]
        state = order.state
        steps = self.model.ship() if state.status is S.CONFIRMED and not state.shipping else []
        outcome = self.attempt_or_crash(ShipOrder(order_id=order_id), crash_after)
        if outcome is None:
            return self.read_crash(order, steps)
        _, error = outcome
        if steps:
            assert error is None
        else:
            assert isinstance(error, IllegalTransition), error
        self.model.run(order, steps)
        return bool(steps)

    @rule(order_id=orders)
    def deliver(self, order_id: str) -> None:
        order = self.model.orders[order_id]
        _, error = self.attempt(DeliverOrder(order_id=order_id))
        if order.state.status is S.SHIPPED:
            assert error is None
            self.model.run(order, [deliver])
        else:
            assert isinstance(error, IllegalTransition), error

    @rule(
        order_id=orders,
        amount=st.one_of(st.none(), st.integers(1, 6000)),
        key=st.sampled_from(REFUND_KEYS),
    )
    def refund(self, order_id: str, amount: int | None, key: str) -> None:
        """`amount` None asks for everything still refundable: a full refund."""
        self.refund_order(order_id, amount, key, crash_after=0)

    @rule(
        order_id=orders,
        amount=st.one_of(st.none(), st.integers(1, 6000)),
        key=st.sampled_from(REFUND_KEYS),
        crash_after=crash_st,
    )
    def refund_and_crash(
        self, order_id: str, amount: int | None, key: str, crash_after: int
    ) -> None:
        self.refund_order(order_id, amount, key, crash_after)

    def refund_order(self, order_id: str, amount: int | None, key: str, crash_after: int) -> None:
        order = self.model.orders[order_id]
        state = order.state
        own_key = f"{order_id}:refund:{key}"
        booked = any(refund.key == own_key for refund in state.refunds)
        refundable = order.total - state.refunded if state.status in CAPTURED_STATES else 0
        room = refundable - state.pending
        wanted = room if amount is None else amount
        refundable_now = state.status in {S.SHIPPED, S.DELIVERED, S.PARTIALLY_REFUNDED}
        goes_through = booked or (refundable_now and 0 < wanted <= room)
        steps = self.model.refund(order, own_key, wanted) if goes_through else []
        outcome = self.attempt_or_crash(
            RefundOrder(order_id=order_id, amount=Money(wanted, "EUR"), idempotency_key=key),
            crash_after,
        )
        if outcome is None:
            self.read_crash(order, steps)
            return
        _, error = outcome
        if goes_through:  # a replay finishes the refund if need be, and changes nothing else
            assert error is None
        elif not refundable_now:
            assert isinstance(error, IllegalTransition), error
        else:
            assert isinstance(error, InvalidInput), error
        self.model.run(order, steps)

    # -- time passes, the worker's jobs run -------------------------------------------------
    @rule(wait=st.booleans())
    def recover(self, wait: bool) -> None:
        """The recovery job's pass, after every deadline has passed or right away."""
        self.recover_orders(wait, crash_after=0)

    @precondition(lambda self: self.model.unsettled())
    @rule(crash_after=crash_st)
    def recover_and_crash(self, crash_after: int) -> None:
        """Past every deadline, the recovery job's pass dies too."""
        self.recover_orders(wait=True, crash_after=crash_after)

    def recover_orders(self, wait: bool, crash_after: int) -> None:
        if wait:
            self.driver.clock.advance(seconds=SETTINGS.settle_within_seconds + 1)
        due = self.model.due()
        outcome = self.attempt_or_crash(RecoverOrders(), crash_after)
        if outcome is None:
            # Those before the one it died on are done; those after it, untouched.
            for order in due:
                if not self.read_crash(order, self.model.resume(order)):
                    return
            return
        count, error = outcome
        assert error is None
        assert count == len(due)
        for order in due:
            self.model.run(order, self.model.resume(order))
        for order in due:
            stored = self.run(self._order(order.id))
            assert stored is not None
            self.run(assert_order_settled(self.driver, stored))

    @precondition(lambda self: self.model.unsettled())
    @rule()
    def restart_and_recover(self) -> None:
        """The process is back and the worker's jobs run as time passes: recovery past every
        deadline, the sweeper past every reservation's time, recovery again. Every order
        ends settled, whatever crashed where."""
        self.recover_orders(wait=True, crash_after=0)
        self.expire_holds(past_ttl=True)
        self.recover_orders(wait=True, crash_after=0)
        assert not self.model.unsettled()

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def books_balance(self) -> None:
        self.run(self._check_books())

    async def _check_books(self) -> None:
        await self._check_stock()
        self._check_carts()
        await self._check_orders()

    async def _check_stock(self) -> None:
        model = self.model
        levels = await stock_levels(self.driver.shop.ports.stock_views, SKUS, self.now)
        assert {level.sku for level in levels} == model.stocked
        assert all(level.location == "main" for level in levels)
        for level in levels:
            sku = level.sku
            assert min(level.on_hand, level.reserved, level.allocated, level.available) >= 0
            assert level.on_hand == model.on_hand(sku)
            assert level.reserved == model.reserved(sku)
            assert level.allocated == model.allocated(sku)
            trail = await movements(self.driver.shop.uow(), sku)
            by_kind = {kind: sum(m.delta for m in trail if m.kind is kind) for kind in MovementKind}
            assert by_kind[MovementKind.RECEIVED] == model.received[sku]
            assert by_kind[MovementKind.ADJUSTED] == model.adjusted[sku]
            assert -by_kind[MovementKind.SHIPPED] == model.shipped(sku)
            # Never more committed or sent than ever came in.
            came_in = model.received[sku] + model.adjusted[sku]
            assert level.allocated + model.shipped(sku) <= came_in
        uow = self.driver.shop.uow()
        for hold_id, hold in model.holds.items():
            reservation = await uow.stock.reservation(hold_id)
            assert reservation is not None and reservation.status is hold.status

    def _check_carts(self) -> None:
        """Every cart is the model's: its owner, its lines, and held or checked out exactly
        by the order the model says (a cart a crashed checkout holds waits for recovery)."""
        carts = {cart.id: cart for cart in self.driver.store.carts}
        assert carts.keys() == self.model.carts.keys()
        for cart_id, cart in carts.items():
            model = self.model.carts[cart_id]
            holder = self.model.holder(cart_id)
            assert cart.customer_id == self.customers[model.customer].id
            assert _lines(cart) == model.lines
            expected = (holder.state.cart, holder.id) if holder else (CartStatus.OPEN, None)
            assert (cart.status, cart.order_id) == expected

    async def _read(self, order: ModelOrder, stored: Order | None = None) -> Stored:
        return await read(
            self.driver, order.id, order.cart_id, stored or await self._order(order.id)
        )

    async def _check_orders(self) -> None:
        """Every order is where the model says, everywhere the shop keeps it, and legal; the
        bank holds no charge but the orders'; each confirmed order was mailed once."""
        page = await list_orders(self.driver.shop.uow(), customer_id=None, limit=100)
        assert page.next_cursor is None
        orders = {order.id: order for order in page.items}
        saved = {order.id for order in self.model.orders.values() if order.state.path}
        assert orders.keys() == saved
        charges, payments = set(), 0
        for model in self.model.orders.values():
            stored = await self._read(model, orders.get(model.id))
            assert stored.state == model.state, f"{model.id}: {stored.state} != {model.state}"
            assert_legal(model.state, model.token)
            stored.assert_amounts(model.total)
            payments += stored.payment is not None
            if stored.answer is not None and stored.answer.reference is not None:
                charges.add(stored.answer.reference)
        for order_id, order in orders.items():
            model = self.model.orders[order_id]
            assert order.total.amount == model.total
            assert order.refunded.amount == model.state.refunded
            paid = {S.CONFIRMED, S.PAYMENT_FAILED} & set(model.state.path)
            assert order.payment_id == (order.id if paid else None)
            _check_history(order)
        assert charges == self.driver.gateway.charges.keys()
        assert len(self.driver.store.payments) == payments

        ever_confirmed = {o.id for o in self.model.orders.values() if S.CONFIRMED in o.state.path}
        mailed = Counter(
            sent.dedup_key.removeprefix("order-confirmation:")
            for sent in self.driver.notifier.sent
            if sent.dedup_key.startswith("order-confirmation:")
        )
        assert mailed == Counter(ever_confirmed)


def _check_history(order: Order) -> None:
    """The recorded history is a legal path (the model checks it is the one expected)."""
    history = order.history
    assert history[0].from_status is None and history[0].to_status is S.PENDING_PAYMENT
    for before, after in itertools.pairwise(history):
        assert after.from_status is before.to_status
        assert after.to_status in TRANSITIONS[before.to_status]
    assert history[-1].to_status is order.status


def _lines(cart: Cart) -> dict[str, int]:
    return {line.sku: line.quantity for line in cart.lines}


ShopMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None
)
TestShopStateMachine = ShopMachine.TestCase
