"""Bugs the property runs found, pinned at unit level.

A checkout whose gateway call outlasted the reservation TTL, with the sweeper expiring the hold
before allocation, used to end in IllegalTransition ("cannot go from expired to allocated"):
the payment was voided but the order stayed in pending_payment for good, while the same
checkout without a sweep in between succeeded or was cancelled as a stock shortfall. Whether
the sweeper ran first must not change a checkout's outcome.
"""

from __future__ import annotations

import pytest

from apps.settings import Settings
from shopcore import ExpireReservations, OrderStatus, OutOfStock, PlaceOrder
from shopcore.cart.model import Cart, CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.customers.model import Customer
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order, list_orders
from shopcore.payments.model import PaymentStatus
from shopcore.payments.queries import payments_for_order
from tests.properties.racing import YieldingGateway, racing_driver
from tests.support.driver import ADDRESS, ShopDriver

TTL_SECONDS = Settings().reservation_ttl_seconds


async def a_customer_with_a_cart(driver: ShopDriver, quantity: int) -> tuple[Customer, Cart]:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 2)
    customer = await driver.customer()
    return customer, await driver.cart(customer, {"TEE-M": quantity})


def sweep_while_authorizing(
    driver: ShopDriver, gateway: YieldingGateway, *, rival_buys: int = 0
) -> list[Order]:
    rivals: list[Order] = []

    async def hold_lapses_and_is_swept() -> None:
        driver.clock.advance(seconds=TTL_SECONDS + 1)
        assert await driver.handle(ExpireReservations()) == 1
        if rival_buys:
            rivals.append(await driver.buy({"TEE-M": rival_buys}))

    gateway.meanwhile["authorize"] = hold_lapses_and_is_swept
    return rivals


async def no_order_waits_for_payment(driver: ShopDriver) -> bool:
    page = await list_orders(
        driver.shop.uow(), customer_id=None, status=OrderStatus.PENDING_PAYMENT
    )
    return list(page.items) == []


async def test_a_hold_swept_while_paying_is_allocated_while_the_stock_is_there() -> None:
    driver, gateway = racing_driver()
    customer, cart = await a_customer_with_a_cart(driver, 1)
    sweep_while_authorizing(driver, gateway)

    order = await driver.checkout(customer, cart)

    assert order.status is OrderStatus.CONFIRMED
    assert await no_order_waits_for_payment(driver)
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.ALLOCATED
    assert await driver.available("TEE-M") == 1
    closed = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert closed.status is CartStatus.CHECKED_OUT
    assert [n.subject for n in driver.notifier.sent] == [f"Your order {order.id} is confirmed"]


async def test_a_hold_swept_while_paying_whose_stock_sold_cancels_the_order() -> None:
    driver, gateway = racing_driver()
    customer, cart = await a_customer_with_a_cart(driver, 1)
    rivals = sweep_while_authorizing(driver, gateway, rival_buys=2)
    command = PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token="tok_visa"
    )

    with pytest.raises(OutOfStock) as caught:
        await driver.handle(command)

    assert caught.value.code == "out-of-stock"
    assert caught.value.skus == ("TEE-M",)
    order = await get_order(driver.shop.uow(), command.order_id, None)
    assert order is not None
    assert order.status is OrderStatus.CANCELLED
    assert order.history[-1].reason == "stock_shortfall"
    assert await no_order_waits_for_payment(driver)
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.VOIDED
    assert gateway.charges[payment.gateway_reference or ""].voided
    assert gateway.captured_total == 0
    assert [rival.status for rival in rivals] == [OrderStatus.CONFIRMED]
    assert await driver.available("TEE-M") == 0
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert reopened.status is CartStatus.OPEN
    assert [(line.sku, line.quantity) for line in reopened.lines] == [("TEE-M", 1)]
