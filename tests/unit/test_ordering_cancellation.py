"""Cancelling before shipping hands back the stock and the authorization; after, it is refused."""

from __future__ import annotations

import logging

import pytest

from shopcore import (
    CancelOrder,
    DeliverOrder,
    IllegalTransition,
    NotFound,
    OrderStatus,
    PaymentDeclined,
    PlaceOrder,
    ShipOrder,
)
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.events import OrderCancelled
from shopcore.ordering.model import Order, OrderLine
from shopcore.ordering.pricing import compute_totals
from shopcore.ordering.queries import get_order
from shopcore.payments.model import PaymentStatus, TransactionKind
from shopcore.payments.queries import payments_for_order
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver, eur
from tests.unit.scripted_gateway import ScriptedGateway, scripted_driver


@pytest.fixture
def scripted() -> tuple[ShopDriver, ScriptedGateway]:
    return scripted_driver()


async def confirmed(driver: ShopDriver) -> Order:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)
    return await driver.buy({"TEE-M": 2})


async def stored(driver: ShopDriver, order_id: str) -> Order:
    order = await get_order(driver.shop.uow(), order_id, None)
    assert order is not None
    return order


async def test_the_customer_cancels_a_confirmed_order(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    cancelled: Order = await driver.handle(
        CancelOrder(order_id=order.id, customer_id=order.customer_id, reason="changed my mind")
    )

    assert cancelled.status is OrderStatus.CANCELLED
    assert (await stored(driver, order.id)).status is OrderStatus.CANCELLED
    assert cancelled.history[-1].reason == "changed my mind"
    events = [e for e in driver.store.outbox if isinstance(e, OrderCancelled)]
    assert [(e.order_id, e.customer_id, e.reason) for e in events] == [
        (order.id, order.customer_id, "changed my mind")
    ]


async def test_cancelling_puts_the_allocated_stock_back(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    assert await driver.available("TEE-M") == 3

    await driver.handle(CancelOrder(order_id=order.id, customer_id=order.customer_id))

    assert await driver.available("TEE-M") == 5
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.DEALLOCATED


async def test_cancelling_voids_the_authorization(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    await driver.handle(CancelOrder(order_id=order.id, customer_id=order.customer_id))

    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.VOIDED
    assert (payment.transactions[-1].kind, payment.transactions[-1].idempotency_key) == (
        TransactionKind.VOID,
        f"{order.id}:void",
    )
    assert driver.gateway.charges[payment.gateway_reference or ""].voided
    assert driver.gateway.captured_total == 0


async def test_staff_may_cancel_any_order(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    cancelled: Order = await driver.handle(
        CancelOrder(order_id=order.id, customer_id=None, reason="fraud suspected")
    )

    assert cancelled.status is OrderStatus.CANCELLED


async def test_a_long_reason_is_cut_to_200_characters(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    cancelled: Order = await driver.handle(
        CancelOrder(order_id=order.id, customer_id=None, reason="x" * 500)
    )

    assert cancelled.history[-1].reason == "x" * 200


async def test_another_customers_order_does_not_exist_for_them(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    stranger = await driver.customer()

    with pytest.raises(NotFound) as caught:
        await driver.handle(CancelOrder(order_id=order.id, customer_id=stranger.id))

    assert caught.value.code == "not-found"
    assert (await stored(driver, order.id)).status is OrderStatus.CONFIRMED
    assert await driver.available("TEE-M") == 3


async def test_cancelling_an_unknown_order_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(CancelOrder(order_id=new_id(), customer_id=None))


@pytest.mark.parametrize("then", [[], [DeliverOrder]], ids=["shipped", "delivered"])
async def test_a_shipped_order_cannot_be_cancelled(
    driver: ShopDriver, then: list[type[DeliverOrder]]
) -> None:
    order = await confirmed(driver)
    await driver.handle(ShipOrder(order_id=order.id))
    for step in then:
        await driver.handle(step(order_id=order.id))
    before = await stored(driver, order.id)

    with pytest.raises(IllegalTransition) as caught:
        await driver.handle(CancelOrder(order_id=order.id, customer_id=order.customer_id))

    assert caught.value.code == "illegal-transition"
    assert (await stored(driver, order.id)).status is before.status
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.CAPTURED
    assert await driver.available("TEE-M") == 3


async def test_an_order_cancels_only_once(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    with pytest.raises(IllegalTransition):
        await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    assert await driver.available("TEE-M") == 5


async def test_an_order_whose_payment_failed_cannot_be_cancelled(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    command = PlaceOrder(
        customer_id=customer.id,
        cart_id=cart.id,
        shipping_address=ADDRESS,
        payment_token="tok_decline",
    )
    with pytest.raises(PaymentDeclined):
        await driver.handle(command)

    with pytest.raises(IllegalTransition):
        await driver.handle(CancelOrder(order_id=command.order_id, customer_id=customer.id))

    assert (await stored(driver, command.order_id)).status is OrderStatus.PAYMENT_FAILED


async def test_a_refused_void_is_logged_and_the_order_stays_cancelled(
    scripted: tuple[ShopDriver, ScriptedGateway], caplog: pytest.LogCaptureFixture
) -> None:
    driver, gateway = scripted
    order = await confirmed(driver)
    gateway.refusing.add("void")

    with caplog.at_level(logging.ERROR, logger="shopcore.ordering"):
        cancelled: Order = await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    assert cancelled.status is OrderStatus.CANCELLED
    assert await driver.available("TEE-M") == 5
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    assert [r.getMessage() for r in caplog.records if r.name == "shopcore.ordering"] == [
        f"could not undo all of cancelled order {order.id} yet"
    ]


async def test_cancelling_a_checkout_that_died_before_paying(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    """The process died while asking the gateway: the order waits in pending_payment with
    its stock reserved and no payment on record."""
    driver, gateway = scripted
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    command = PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token="tok_visa"
    )

    async def crash() -> None:
        raise RuntimeError("worker killed")

    gateway.meanwhile["authorize"] = crash
    with pytest.raises(RuntimeError):
        await driver.handle(command)
    assert (await stored(driver, command.order_id)).status is OrderStatus.PENDING_PAYMENT
    assert await driver.available("TEE-M") == 3

    cancelled: Order = await driver.handle(CancelOrder(order_id=command.order_id, customer_id=None))

    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.payment_id is None
    assert await driver.available("TEE-M") == 5
    assert await payments_for_order(driver.shop.uow(), command.order_id) == []


async def test_cancelling_an_order_that_never_reserved_stock(driver: ShopDriver) -> None:
    line = OrderLine(sku="TEE-M", name="Tee", quantity=1, unit_price=eur(1000))
    orphan = Order.place(
        id=new_id(),
        customer_id=new_id(),
        cart_id=new_id(),
        lines=(line,),
        discounts=(),
        totals=compute_totals([line], [], eur(0), 0, "EUR"),
        shipping_address=ADDRESS,
        now=driver.clock.now(),
    )
    async with driver.shop.uow() as uow:
        await uow.orders.add(orphan)
        await uow.commit()

    cancelled: Order = await driver.handle(CancelOrder(order_id=orphan.id, customer_id=None))

    assert cancelled.status is OrderStatus.CANCELLED
    assert await driver.shop.uow().stock.reservation(orphan.id) is None
