"""What happens to a checkout while the gateway is thinking: the reservation may expire and
the stock go to someone else, or the order may be cancelled under it."""

from __future__ import annotations

import pytest

from shopcore import (
    AlreadyExists,
    CancelOrder,
    IllegalTransition,
    OrderStatus,
    OutOfStock,
    PlaceOrder,
)
from shopcore.cart.model import CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.events import OrderCancelled, OrderPlaced
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order, list_orders
from shopcore.payments.model import PaymentStatus, TransactionKind
from shopcore.payments.queries import payments_for_order
from tests.support.driver import ADDRESS, ShopDriver
from tests.unit.scripted_gateway import ScriptedGateway, scripted_driver

RESERVATION_TTL_MINUTES = 15


@pytest.fixture
def scripted() -> tuple[ShopDriver, ScriptedGateway]:
    return scripted_driver()


async def stored(driver: ShopDriver, order_id: str) -> Order:
    order = await get_order(driver.shop.uow(), order_id, None)
    assert order is not None
    return order


async def test_stock_gone_after_authorization_voids_and_cancels(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 2)
    slow = await driver.customer()
    cart = await driver.cart(slow, {"TEE-M": 2})
    rival: list[Order] = []

    async def reservation_lapses_and_the_stock_sells() -> None:
        driver.clock.advance(minutes=RESERVATION_TTL_MINUTES + 1)
        rival.append(await driver.buy({"TEE-M": 2}))

    gateway.meanwhile["authorize"] = reservation_lapses_and_the_stock_sells
    command = PlaceOrder(
        customer_id=slow.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token="tok_visa"
    )

    with pytest.raises(OutOfStock) as caught:
        await driver.handle(command)

    assert caught.value.code == "out-of-stock"
    assert caught.value.skus == ("TEE-M",)
    order = await stored(driver, command.order_id)
    assert order.status is OrderStatus.CANCELLED
    assert order.history[-1].reason == "stock_shortfall"
    cancelled = [e for e in driver.store.outbox if isinstance(e, OrderCancelled)]
    assert [(e.order_id, e.reason) for e in cancelled] == [(order.id, "stock_shortfall")]
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.VOIDED
    assert [(tx.kind, tx.idempotency_key) for tx in payment.transactions] == [
        (TransactionKind.AUTHORIZE, f"{order.id}:authorize"),
        (TransactionKind.VOID, f"{order.id}:void"),
    ]
    assert gateway.charges[payment.gateway_reference or ""].voided
    assert gateway.captured_total == 0
    # The rival keeps what it bought; the slow checkout's reservation holds nothing.
    assert rival[0].status is OrderStatus.CONFIRMED
    assert await driver.available("TEE-M") == 0
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.RELEASED
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=slow.id))
    assert reopened.status is CartStatus.OPEN
    placed = [e.order_id for e in driver.store.outbox if isinstance(e, OrderPlaced)]
    assert placed == [rival[0].id]


async def test_an_expired_reservation_still_allocates_while_the_stock_is_there(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 2)

    async def reservation_lapses() -> None:
        driver.clock.advance(minutes=RESERVATION_TTL_MINUTES + 1)

    gateway.meanwhile["authorize"] = reservation_lapses

    order = await driver.buy({"TEE-M": 2})

    assert order.status is OrderStatus.CONFIRMED
    assert await driver.available("TEE-M") == 0
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.AUTHORIZED


async def test_an_order_cancelled_while_paying_gets_its_authorization_voided(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 3)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    command = PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token="tok_visa"
    )

    async def staff_cancel() -> None:
        await driver.handle(CancelOrder(order_id=command.order_id, customer_id=None))

    gateway.meanwhile["authorize"] = staff_cancel

    with pytest.raises(IllegalTransition):
        await driver.handle(command)

    order = await stored(driver, command.order_id)
    assert order.status is OrderStatus.CANCELLED
    assert order.history[-1].reason == "cancelled by customer"
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.VOIDED
    assert gateway.captured_total == 0
    assert await driver.available("TEE-M") == 3
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert reopened.status is CartStatus.OPEN
    assert driver.notifier.sent == []


async def test_a_double_submit_orders_once(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    second: list[IllegalTransition] = []

    async def submit_again() -> None:
        try:
            await driver.checkout(customer, cart)
        except IllegalTransition as error:
            second.append(error)

    gateway.meanwhile["authorize"] = submit_again

    first = await driver.checkout(customer, cart)

    assert first.status is OrderStatus.CONFIRMED
    (refused,) = second
    assert refused.code == "illegal-transition"
    assert "already in progress" in str(refused)
    page = await list_orders(driver.shop.uow(), customer_id=customer.id)
    assert [order.id for order in page.items] == [first.id]
    assert len(gateway.charges) == 1
    assert await driver.available("TEE-M") == 3


async def test_a_retry_with_the_same_order_id_leaves_the_first_attempt_alone(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    """A client that resubmits its order id while the first attempt waits for the gateway
    must not reopen the cart or release the stock that attempt holds."""
    driver, gateway = scripted
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    command = PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token="tok_visa"
    )
    retried: list[AlreadyExists] = []

    async def resubmit() -> None:
        try:
            await driver.handle(command)
        except AlreadyExists as error:
            retried.append(error)

    gateway.meanwhile["authorize"] = resubmit

    order = await driver.handle(command)

    assert order.status is OrderStatus.CONFIRMED
    assert [error.code for error in retried] == ["already-exists"]
    closed = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert (closed.status, closed.order_id) == (CartStatus.CHECKED_OUT, order.id)
    assert await driver.available("TEE-M") == 3
    assert len(gateway.charges) == 1
