"""A payment that does not go through leaves no stock held, no order confirmed and the cart
back in the customer's hands."""

from __future__ import annotations

import pytest

from shopcore import OrderStatus, PaymentDeclined, PaymentGatewayUnavailable, PlaceOrder, ShopError
from shopcore.cart.model import Cart, CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.customers.model import Customer
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.events import OrderPaymentFailed, OrderPlaced
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order
from shopcore.payments.model import PaymentStatus
from shopcore.payments.queries import payments_for_order
from tests.support.driver import ADDRESS, ShopDriver

FAILURES = [
    pytest.param("tok_decline", PaymentDeclined, "payment-declined", PaymentStatus.DECLINED),
    pytest.param(
        "tok_error",
        PaymentGatewayUnavailable,
        "payment-gateway-unavailable",
        PaymentStatus.FAILED,
    ),
]


async def stocked_cart(driver: ShopDriver) -> tuple[Customer, Cart]:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 3)
    customer = await driver.customer()
    return customer, await driver.cart(customer, {"TEE-M": 2})


def place(customer: Customer, cart: Cart, token: str) -> PlaceOrder:
    return PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token=token
    )


async def stored(driver: ShopDriver, order_id: str) -> Order:
    order = await get_order(driver.shop.uow(), order_id, None)
    assert order is not None
    return order


@pytest.mark.parametrize(("token", "error", "code", "payment_status"), FAILURES)
async def test_a_failed_payment_raises_its_own_error(
    driver: ShopDriver,
    token: str,
    error: type[ShopError],
    code: str,
    payment_status: PaymentStatus,
) -> None:
    customer, cart = await stocked_cart(driver)

    with pytest.raises(error) as caught:
        await driver.handle(place(customer, cart, token))

    assert caught.value.code == code


@pytest.mark.parametrize(("token", "error", "code", "payment_status"), FAILURES)
async def test_a_failed_payment_releases_the_reserved_stock(
    driver: ShopDriver,
    token: str,
    error: type[ShopError],
    code: str,
    payment_status: PaymentStatus,
) -> None:
    customer, cart = await stocked_cart(driver)
    command = place(customer, cart, token)

    with pytest.raises(error):
        await driver.handle(command)

    assert await driver.available("TEE-M") == 3
    reservation = await driver.shop.uow().stock.reservation(command.order_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.RELEASED


@pytest.mark.parametrize(("token", "error", "code", "payment_status"), FAILURES)
async def test_a_failed_payment_marks_the_order_payment_failed(
    driver: ShopDriver,
    token: str,
    error: type[ShopError],
    code: str,
    payment_status: PaymentStatus,
) -> None:
    customer, cart = await stocked_cart(driver)
    command = place(customer, cart, token)

    with pytest.raises(error):
        await driver.handle(command)

    order = await stored(driver, command.order_id)
    assert order.status is OrderStatus.PAYMENT_FAILED
    assert order.history[-1].reason == code
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert order.payment_id == payment.id
    assert payment.status is payment_status
    assert payment.captured.amount == 0
    failed = [e for e in driver.store.outbox if isinstance(e, OrderPaymentFailed)]
    assert [(e.order_id, e.customer_id, e.reason) for e in failed] == [
        (order.id, customer.id, code)
    ]
    assert not any(isinstance(e, OrderPlaced) for e in driver.store.outbox)
    assert driver.notifier.sent == []


@pytest.mark.parametrize(("token", "error", "code", "payment_status"), FAILURES)
async def test_after_a_failed_payment_the_same_cart_can_be_paid_again(
    driver: ShopDriver,
    token: str,
    error: type[ShopError],
    code: str,
    payment_status: PaymentStatus,
) -> None:
    customer, cart = await stocked_cart(driver)
    with pytest.raises(error):
        await driver.handle(place(customer, cart, token))
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert reopened.status is CartStatus.OPEN
    assert reopened.order_id is None

    order = await driver.checkout(customer, cart, "tok_visa")

    assert order.status is OrderStatus.CONFIRMED
    assert await driver.available("TEE-M") == 1
    closed = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert closed.status is CartStatus.CHECKED_OUT


async def test_an_outage_is_not_remembered_as_an_answer(driver: ShopDriver) -> None:
    """The gateway answered nothing, so no charge exists there and nothing was replayed."""
    customer, cart = await stocked_cart(driver)

    with pytest.raises(PaymentGatewayUnavailable):
        await driver.checkout(customer, cart, "tok_error")

    assert driver.gateway.charges == {}
    assert driver.gateway.calls == 0


@pytest.mark.parametrize(("token", "error", "code", "payment_status"), FAILURES)
async def test_subscribers_hear_of_the_failed_payment(
    driver: ShopDriver,
    token: str,
    error: type[ShopError],
    code: str,
    payment_status: PaymentStatus,
) -> None:
    """PlaceOrder fails, but the payment_failed state it committed is a fact to publish."""
    customer, cart = await stocked_cart(driver)
    heard: list[OrderPaymentFailed] = []

    async def listen(event: OrderPaymentFailed, uow: object) -> None:
        heard.append(event)

    driver.shop.bus.subscribe(OrderPaymentFailed, listen)
    command = place(customer, cart, token)

    with pytest.raises(error):
        await driver.handle(command)

    assert [(e.order_id, e.reason) for e in heard] == [(command.order_id, code)]
