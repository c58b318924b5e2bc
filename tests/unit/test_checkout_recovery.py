"""Kill a checkout after each of its steps, restart, let the recovery job run: every order
ends confirmed or fully undone, and the books balance (tests/support/books.py).

A step boundary is a commit or an answer from the gateway that the shop never wrote down
(tests/support/crashes.py); the checkout's boundaries are counted first, then the checkout is
killed at each one in turn, in a shop of its own."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest

from adapters.memory.store import MemoryStore
from apps.settings import Settings
from shopcore import (
    CancelOrder,
    ExpireReservations,
    PlaceOrder,
    RecoverOrders,
    RefundOrder,
    ShipOrder,
)
from shopcore.cart.model import Cart, CartStatus
from shopcore.customers.model import Customer
from shopcore.ordering.model import OrderStatus
from shopcore.ordering.queries import get_order
from shopcore.shared.errors import ShopError
from shopcore.shared.money import Money
from tests.support.books import all_orders, assert_books_settled
from tests.support.crashes import (
    Crash,
    CrashingGateway,
    CrashingUnitOfWork,
    CrashPlan,
    database_failed,
)
from tests.support.driver import ADDRESS, ShopDriver, build_driver

RECEIVED = {"TEE-M": 5}
SETTLE_WITHIN = 60
RESERVATION_TTL = 15 * 60


@dataclass
class Scene:
    driver: ShopDriver
    plan: CrashPlan
    customer: Customer
    cart: Cart

    async def checkout(self, token: str = "tok_visa") -> None:
        await self.driver.handle(
            PlaceOrder(
                customer_id=self.customer.id,
                cart_id=self.cart.id,
                shipping_address=ADDRESS,
                payment_token=token,
            )
        )

    async def restart_and_recover(self) -> None:
        """The process is back; time passes and the worker's jobs run."""
        self.driver.clock.advance(seconds=SETTLE_WITHIN + 1)
        await self.driver.handle(RecoverOrders())
        self.driver.clock.advance(seconds=RESERVATION_TTL + 1)
        await self.driver.handle(ExpireReservations())
        await self.driver.handle(RecoverOrders())


async def scene() -> Scene:
    plan = CrashPlan()
    store = MemoryStore()
    driver = build_driver(
        Settings(settle_within_seconds=SETTLE_WITHIN, gateway_timeout_seconds=SETTLE_WITHIN / 2),
        store=store,
        gateway=CrashingGateway(plan=plan),
        unit_of_work=lambda: CrashingUnitOfWork(store, plan),
    )
    await driver.product("TEE-M")
    await driver.receive("TEE-M", RECEIVED["TEE-M"])
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    return Scene(driver, plan, customer, cart)


async def boundaries(token: str) -> list[str]:
    """The step boundaries of one undisturbed checkout paying with `token`."""
    counted = await scene()
    counted.plan.armed = True
    # A declined card ends the checkout; its undo steps are boundaries too.
    with contextlib.suppress(ShopError):
        await counted.checkout(token)
    return counted.plan.seen


async def killed_at(at: int, token: str = "tok_visa") -> Scene:
    """A shop whose checkout paying with `token` was killed after its `at`-th step."""
    shop = await scene()
    shop.plan.at, shop.plan.armed = at, True
    with pytest.raises(Crash):
        await shop.checkout(token)
    return shop


@pytest.mark.parametrize("token", ["tok_visa", "tok_decline", "tok_error"])
async def test_a_checkout_killed_after_any_step_is_finished_or_undone(token: str) -> None:
    steps = await boundaries(token)
    # place (reserve, save, hold), authorize, complete (the payment booked with it): at least
    assert len(steps) >= 3, steps
    for at in range(1, len(steps) + 1):
        shop = await killed_at(at, token)

        await shop.restart_and_recover()

        try:
            await assert_books_settled(shop.driver, RECEIVED)
        except AssertionError as error:
            raise AssertionError(f"killed after step {at} ({steps[at - 1]}): {error}") from error
        orders = await all_orders(shop.driver)
        if token != "tok_visa":
            assert all(order.status is not OrderStatus.CONFIRMED for order in orders)
        # Whatever happened, the customer can shop again with the same cart.
        if not any(order.status is OrderStatus.CONFIRMED for order in orders):
            await shop.checkout()
            await assert_books_settled(shop.driver, RECEIVED)


@pytest.mark.parametrize("token", ["tok_visa", "tok_decline"])
async def test_a_checkout_whose_database_failed_after_any_step_is_finished_or_undone(
    token: str,
) -> None:
    """Not a kill: the process lives on and answers 503, but the database failed at a step
    (Busy, every retry used up). A failure before the order is saved leaves nothing; after,
    the order lives on, unsettled, and recovery finishes it."""
    steps = await boundaries(token)
    for at in range(1, len(steps) + 1):
        shop = await scene()
        shop.plan.at, shop.plan.armed, shop.plan.fault = at, True, database_failed
        # 503 (or the card's own answer); after the confirm, the order's answer is 201.
        with contextlib.suppress(ShopError):
            await shop.checkout(token)

        await shop.restart_and_recover()

        try:
            await assert_books_settled(shop.driver, RECEIVED)
        except AssertionError as error:
            raise AssertionError(f"failed after step {at} ({steps[at - 1]}): {error}") from error


async def test_the_recovery_job_leaves_a_checkout_within_its_time_alone() -> None:
    steps = await boundaries("tok_visa")
    # After the order was saved and the cart held, and the gateway authorized: still pending.
    shop = await killed_at(steps.index("the gateway's authorization") + 1)
    (order,) = await all_orders(shop.driver)

    shop.driver.clock.advance(seconds=SETTLE_WITHIN - 1)
    assert await shop.driver.handle(RecoverOrders()) == 0

    shop.driver.clock.advance(seconds=2)
    assert await shop.driver.handle(RecoverOrders()) == 1
    recovered = await get_order(shop.driver.shop.uow(), order.id, None)
    assert recovered is not None and recovered.settled


async def test_a_checkout_whose_payment_went_through_before_the_crash_is_confirmed() -> None:
    """Killed after the gateway authorized and before the shop wrote it down: the recovery
    job finds the authorization at the gateway under the order's key and goes forward."""
    steps = await boundaries("tok_visa")
    at = steps.index("the gateway's authorization") + 1
    shop = await killed_at(at)

    await shop.restart_and_recover()

    (order,) = await all_orders(shop.driver)
    assert order.status is OrderStatus.CONFIRMED
    await assert_books_settled(shop.driver, RECEIVED)


async def test_shipping_an_order_whose_checkout_died_checks_its_cart_out() -> None:
    """Killed after confirming, before checking the cart out: the order can be shipped
    before the recovery job comes, and shipping settles it, so the shipment must finish the
    checkout's last step too, or the cart stays held for an order nobody will recover."""
    steps = await boundaries("tok_visa")
    for at in range(1, len(steps) + 1):
        shop = await killed_at(at)
        placed = await all_orders(shop.driver)
        if not placed or placed[0].status is not OrderStatus.CONFIRMED:
            continue
        await shop.driver.handle(ShipOrder(order_id=placed[0].id))

        await shop.restart_and_recover()

        (shipped,) = await all_orders(shop.driver)
        assert (shipped.status, shipped.settled) == (OrderStatus.SHIPPED, True), steps[at - 1]
        cart = shop.driver.store.carts.peek(shop.cart.id)
        assert cart is not None
        assert (cart.status, cart.order_id) == (CartStatus.CHECKED_OUT, shipped.id), at


async def test_a_paid_order_whose_cart_was_taken_over_still_settles_and_ships() -> None:
    """Killed after the payment went through, before the order was confirmed, and nobody
    recovered it for longer than a cart's checkout hold: the customer's next checkout takes
    the cart over. The first order is paid and its lines are its own, so recovery confirms
    and settles it without the cart, and it ships; the cart belongs to the second checkout,
    which goes through too."""
    steps = await boundaries("tok_visa")
    tried = 0
    for at in range(1, len(steps) + 1):
        shop = await killed_at(at)
        placed = await all_orders(shop.driver)
        cart = shop.driver.store.carts.peek(shop.cart.id)
        assert cart is not None
        if not placed or placed[0].status is not OrderStatus.PENDING_PAYMENT:
            continue
        if not shop.driver.gateway.charges or cart.status is not CartStatus.CHECKING_OUT:
            continue
        tried += 1
        shop.driver.clock.advance(seconds=RESERVATION_TTL + 1)
        await shop.checkout()

        await shop.restart_and_recover()
        first = placed[0]
        await shop.driver.handle(ShipOrder(order_id=first.id))

        orders = {order.id: order for order in await all_orders(shop.driver)}
        assert orders[first.id].status is OrderStatus.SHIPPED, steps[at - 1]
        (second,) = [order for order in orders.values() if order.id != first.id]
        assert (second.status, second.settled) == (OrderStatus.CONFIRMED, True)
        cart = shop.driver.store.carts.peek(shop.cart.id)
        assert cart is not None
        assert (cart.status, cart.order_id) == (CartStatus.CHECKED_OUT, second.id)
    # After the gateway's answer (the payment is booked with the confirmation, so no step
    # leaves it booked on a pending order).
    assert tried >= 1, steps


async def test_a_cancellation_killed_after_any_step_still_hands_everything_back() -> None:
    shop = await scene()
    await shop.checkout()
    (order,) = await all_orders(shop.driver)
    shop.plan.seen.clear()
    shop.plan.armed = True
    await shop.driver.handle(CancelOrder(order_id=order.id, customer_id=None))
    steps = list(shop.plan.seen)
    for at in range(1, len(steps) + 1):
        again = await scene()
        await again.checkout()
        (placed,) = await all_orders(again.driver)
        again.plan.seen.clear()
        again.plan.at, again.plan.armed = at, True
        with pytest.raises(Crash):
            await again.driver.handle(CancelOrder(order_id=placed.id, customer_id=None))

        await again.restart_and_recover()

        (cancelled,) = await all_orders(again.driver)
        assert cancelled.status is OrderStatus.CANCELLED, steps[at - 1]
        await assert_books_settled(again.driver, RECEIVED)


async def test_a_shipment_killed_after_any_step_is_shipped_once() -> None:
    counted = await scene()
    await counted.checkout()
    (order,) = await all_orders(counted.driver)
    counted.plan.seen.clear()
    counted.plan.armed = True
    await counted.driver.handle(ShipOrder(order_id=order.id))
    steps = list(counted.plan.seen)
    for at in range(1, len(steps) + 1):
        shop = await scene()
        await shop.checkout()
        (placed,) = await all_orders(shop.driver)
        shop.plan.seen.clear()
        shop.plan.at, shop.plan.armed = at, True
        with pytest.raises(Crash):
            await shop.driver.handle(ShipOrder(order_id=placed.id))

        await shop.restart_and_recover()

        shipped = await get_order(shop.driver.shop.uow(), placed.id, None)
        assert shipped is not None
        assert (shipped.status, shipped.settled) == (OrderStatus.SHIPPED, True), steps[at - 1]
        assert shop.driver.gateway.captured_total == placed.total.amount
        levels = await shop.driver.shop.uow().stock.levels(["TEE-M"], shop.driver.clock.now())
        assert [(level.on_hand, level.allocated) for level in levels] == [(3, 0)]


async def test_a_refund_killed_after_any_step_pays_back_once() -> None:
    counted = await scene()
    await counted.checkout()
    (order,) = await all_orders(counted.driver)
    await counted.driver.handle(ShipOrder(order_id=order.id))
    counted.plan.seen.clear()
    counted.plan.armed = True
    amount = Money(500, "EUR")
    await counted.driver.handle(RefundOrder(order_id=order.id, amount=amount, idempotency_key="r1"))
    steps = list(counted.plan.seen)
    for at in range(1, len(steps) + 1):
        shop = await scene()
        await shop.checkout()
        (placed,) = await all_orders(shop.driver)
        await shop.driver.handle(ShipOrder(order_id=placed.id))
        shop.plan.seen.clear()
        shop.plan.at, shop.plan.armed = at, True
        with pytest.raises(Crash):
            await shop.driver.handle(
                RefundOrder(order_id=placed.id, amount=amount, idempotency_key="r1")
            )

        await shop.restart_and_recover()

        refunded = await get_order(shop.driver.shop.uow(), placed.id, None)
        assert refunded is not None and refunded.settled, steps[at - 1]
        assert refunded.status is OrderStatus.PARTIALLY_REFUNDED
        assert refunded.refunded == amount
        assert shop.driver.gateway.refunded_total == amount.amount
