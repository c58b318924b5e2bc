"""Shipping captures the authorized payment, and only a confirmed order ships."""

from __future__ import annotations

import pytest

from shopcore import (
    AddCartItem,
    CancelOrder,
    CartAccess,
    CreateCart,
    DeliverOrder,
    IllegalTransition,
    NotFound,
    OrderStatus,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PlaceOrder,
    ShipOrder,
    ShopError,
)
from shopcore.inventory.model import MovementKind, ReservationStatus
from shopcore.inventory.queries import movements, stock_levels
from shopcore.ordering.events import OrderDelivered, OrderShipped
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order
from shopcore.payments.model import PaymentStatus, TransactionKind
from shopcore.payments.queries import payments_for_order
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver
from tests.unit.scripted_gateway import ScriptedGateway, scripted_driver


@pytest.fixture
def scripted() -> tuple[ShopDriver, ScriptedGateway]:
    return scripted_driver()


async def confirmed(driver: ShopDriver, quantity: int = 2) -> Order:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)
    return await driver.buy({"TEE-M": quantity})


async def stored(driver: ShopDriver, order_id: str) -> Order:
    order = await get_order(driver.shop.uow(), order_id, None)
    assert order is not None
    return order


async def test_shipping_moves_a_confirmed_order_to_shipped(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    shipped: Order = await driver.handle(ShipOrder(order_id=order.id))

    assert shipped.status is OrderStatus.SHIPPED
    assert shipped.shipping_started_at == driver.clock.now()
    assert (await stored(driver, order.id)).status is OrderStatus.SHIPPED
    assert [e.order_id for e in driver.store.outbox if isinstance(e, OrderShipped)] == [order.id]


async def test_shipping_captures_the_authorized_total_once(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    await driver.handle(ShipOrder(order_id=order.id))

    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.captured == order.total
    assert [(tx.kind, tx.idempotency_key) for tx in payment.transactions] == [
        (TransactionKind.AUTHORIZE, f"{order.id}:authorize"),
        (TransactionKind.CAPTURE, f"{order.id}:capture"),
    ]
    assert driver.gateway.captured_total == order.total.amount


async def test_shipping_takes_the_units_off_the_shelf(driver: ShopDriver) -> None:
    order = await confirmed(driver, quantity=2)

    await driver.handle(ShipOrder(order_id=order.id))

    (level,) = await stock_levels(driver.shop.ports.stock_views, ["TEE-M"], driver.clock.now())
    assert (level.on_hand, level.reserved, level.allocated) == (3, 0, 0)
    assert await driver.available("TEE-M") == 3
    trail = await movements(driver.shop.uow(), "TEE-M")
    assert [(m.kind, m.delta, m.reason) for m in trail if m.kind is MovementKind.SHIPPED] == [
        (MovementKind.SHIPPED, -2, f"shipped for {order.id}")
    ]
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.SHIPPED


async def test_shipping_tells_the_customer(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer("grace@example.com")
    order = await driver.checkout(customer, await driver.cart(customer, {"TEE-M": 1}))

    await driver.handle(ShipOrder(order_id=order.id))

    notice = driver.notifier.sent[-1]
    assert (notice.to, notice.subject) == (
        "grace@example.com",
        f"Your order {order.id} is on its way",
    )
    assert notice.dedup_key == f"order-shipped:{order.id}"
    assert len(driver.notifier.sent) == 2


async def test_an_order_ships_only_once(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    await driver.handle(ShipOrder(order_id=order.id))

    with pytest.raises(IllegalTransition) as caught:
        await driver.handle(ShipOrder(order_id=order.id))

    assert caught.value.code == "illegal-transition"
    assert driver.gateway.captured_total == order.total.amount
    assert await driver.available("TEE-M") == 3


@pytest.mark.parametrize(
    ("token", "error"),
    [("tok_decline", PaymentDeclined), ("tok_error", PaymentGatewayUnavailable)],
)
async def test_an_order_whose_payment_failed_cannot_ship(
    driver: ShopDriver, token: str, error: type[ShopError]
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    command = PlaceOrder(
        customer_id=customer.id, cart_id=cart.id, shipping_address=ADDRESS, payment_token=token
    )
    with pytest.raises(error):
        await driver.handle(command)

    with pytest.raises(IllegalTransition):
        await driver.handle(ShipOrder(order_id=command.order_id))

    assert (await stored(driver, command.order_id)).status is OrderStatus.PAYMENT_FAILED
    assert driver.gateway.captured_total == 0


async def test_a_cancelled_order_cannot_ship(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    with pytest.raises(IllegalTransition):
        await driver.handle(ShipOrder(order_id=order.id))

    assert driver.gateway.captured_total == 0


async def test_shipping_an_unknown_order_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound) as caught:
        await driver.handle(ShipOrder(order_id=new_id()))

    assert caught.value.code == "not-found"


async def test_a_refused_capture_leaves_the_order_confirmed_and_cancellable(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    order = await confirmed(driver)
    gateway.refusing.add("capture")

    with pytest.raises(PaymentDeclined) as caught:
        await driver.handle(ShipOrder(order_id=order.id))

    assert caught.value.code == "payment-declined"
    after = await stored(driver, order.id)
    assert after.status is OrderStatus.CONFIRMED
    assert after.shipping_started_at is None
    assert await driver.available("TEE-M") == 3
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    assert [(tx.kind, tx.succeeded) for tx in payment.transactions][-1] == (
        TransactionKind.CAPTURE,
        False,
    )
    assert not any(isinstance(e, OrderShipped) for e in driver.store.outbox)

    cancelled: Order = await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    assert cancelled.status is OrderStatus.CANCELLED
    assert await driver.available("TEE-M") == 5


async def test_an_order_cannot_be_cancelled_while_its_payment_is_captured(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    order = await confirmed(driver)
    refused: list[IllegalTransition] = []

    async def customer_cancels() -> None:
        try:
            await driver.handle(CancelOrder(order_id=order.id, customer_id=order.customer_id))
        except IllegalTransition as error:
            refused.append(error)

    gateway.meanwhile["capture"] = customer_cancels

    shipped: Order = await driver.handle(ShipOrder(order_id=order.id))

    assert shipped.status is OrderStatus.SHIPPED
    assert ["being shipped" in str(error) for error in refused] == [True]
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.CAPTURED
    assert gateway.captured_total == order.total.amount


async def test_delivery_follows_shipping(driver: ShopDriver) -> None:
    order = await confirmed(driver)
    await driver.handle(ShipOrder(order_id=order.id))

    delivered: Order = await driver.handle(DeliverOrder(order_id=order.id))

    assert delivered.status is OrderStatus.DELIVERED
    assert (await stored(driver, order.id)).status is OrderStatus.DELIVERED
    events = [e for e in driver.store.outbox if isinstance(e, OrderDelivered)]
    assert [(e.order_id, e.customer_id) for e in events] == [(order.id, order.customer_id)]


async def test_an_order_not_yet_shipped_cannot_be_delivered(driver: ShopDriver) -> None:
    order = await confirmed(driver)

    with pytest.raises(IllegalTransition):
        await driver.handle(DeliverOrder(order_id=order.id))

    assert (await stored(driver, order.id)).status is OrderStatus.CONFIRMED


async def test_delivering_an_unknown_order_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(DeliverOrder(order_id=new_id()))


async def test_no_shipping_notice_for_a_customer_without_contact(driver: ShopDriver) -> None:
    """Carts take any customer id; one that is not registered has no address to mail."""
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    stranger = new_id()
    opened = await driver.handle(CreateCart(customer_id=stranger))
    access = CartAccess(customer_id=stranger)
    await driver.handle(AddCartItem(cart_id=opened.cart.id, access=access, sku="TEE-M", quantity=1))
    order: Order = await driver.handle(
        PlaceOrder(
            customer_id=stranger,
            cart_id=opened.cart.id,
            shipping_address=ADDRESS,
            payment_token="tok_visa",
        )
    )

    shipped: Order = await driver.handle(ShipOrder(order_id=order.id))

    assert shipped.status is OrderStatus.SHIPPED
    assert any(isinstance(e, OrderShipped) for e in driver.store.outbox)
    assert driver.notifier.sent == []
