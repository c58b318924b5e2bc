from __future__ import annotations

from shopcore import AddCartItem, CreateCart, OrderStatus, PlaceOrder
from shopcore.cart.model import CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.inventory.model import ReservationStatus
from shopcore.inventory.queries import stock_levels
from shopcore.ordering.events import OrderPlaced
from shopcore.ordering.queries import get_order
from shopcore.payments.model import PaymentStatus, TransactionKind
from shopcore.payments.queries import payments_for_order
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver


async def test_checkout_confirms_the_order_at_catalog_prices(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=2500, name="Tee")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    order = await driver.checkout(customer, cart)

    assert order.status is OrderStatus.CONFIRMED
    assert order.customer_id == customer.id
    assert order.cart_id == cart.id
    assert [
        (line.sku, line.name, line.quantity, line.unit_price.amount) for line in order.lines
    ] == [("TEE-M", "Tee", 2, 2500)]
    assert [(c.from_status, c.to_status) for c in order.history] == [
        (None, OrderStatus.PENDING_PAYMENT),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED),
    ]
    stored = await get_order(driver.shop.uow(), order.id, customer.id)
    assert stored is not None
    assert stored.status is OrderStatus.CONFIRMED
    assert stored.payment_id == order.payment_id


async def test_checkout_allocates_the_stock_of_every_line(driver: ShopDriver) -> None:
    await driver.product("TEE-M", "TEE-L")
    await driver.receive("TEE-M", 5)
    await driver.receive("TEE-L", 1)

    order = await driver.buy({"TEE-M": 2, "TEE-L": 1})

    levels = {
        level.sku: (level.on_hand, level.reserved, level.allocated)
        for level in await stock_levels(
            driver.shop.ports.stock_views, ["TEE-M", "TEE-L"], driver.clock.now()
        )
    }
    assert levels == {"TEE-M": (5, 0, 2), "TEE-L": (1, 0, 1)}
    assert await driver.available("TEE-M") == 3
    assert await driver.available("TEE-L") == 0
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.ALLOCATED


async def test_checkout_authorizes_the_total_without_capturing_it(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)

    order = await driver.buy({"TEE-M": 1})

    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.id == order.payment_id
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.amount == order.total
    assert payment.captured.amount == 0
    assert [(tx.kind, tx.succeeded, tx.idempotency_key) for tx in payment.transactions] == [
        (TransactionKind.AUTHORIZE, True, f"{order.id}:authorize")
    ]
    charge = driver.gateway.charges[payment.gateway_reference or ""]
    assert charge.amount == order.total
    assert charge.captured == 0
    assert driver.gateway.captured_total == 0


async def test_checkout_closes_the_cart_for_the_order(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    order = await driver.checkout(customer, cart)

    closed = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert closed.status is CartStatus.CHECKED_OUT
    assert closed.order_id == order.id


async def test_checkout_publishes_order_placed_once(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)

    order = await driver.buy({"TEE-M": 1})

    placed = [event for event in driver.store.outbox if isinstance(event, OrderPlaced)]
    assert [(e.order_id, e.customer_id, e.total) for e in placed] == [
        (order.id, order.customer_id, order.total)
    ]


async def test_checkout_emails_the_customer_a_confirmation_with_the_total(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)
    customer = await driver.customer("ada@example.com")

    order = await driver.checkout(customer, await driver.cart(customer, {"TEE-M": 2}))

    # 2 x 25.00 reaches the free-shipping threshold; 19 % German VAT on 50.00 is 9.50.
    assert order.total.amount == 5950
    (notification,) = driver.notifier.sent
    assert notification.to == "ada@example.com"
    assert notification.subject == f"Your order {order.id} is confirmed"
    assert "Total: 59.50 EUR." in notification.body
    assert notification.dedup_key == f"order-confirmation:{order.id}"


async def test_no_confirmation_goes_out_for_a_customer_without_contact(
    driver: ShopDriver,
) -> None:
    """Carts take any customer id; one that is not registered has no address to mail."""
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    stranger = new_id()
    opened = await driver.handle(CreateCart(customer_id=stranger))
    await driver.handle(
        AddCartItem(
            cart_id=opened.cart.id,
            access=CartAccess(customer_id=stranger),
            sku="TEE-M",
            quantity=1,
        )
    )

    order = await driver.handle(
        PlaceOrder(
            customer_id=stranger,
            cart_id=opened.cart.id,
            shipping_address=ADDRESS,
            payment_token="tok_visa",
        )
    )

    assert order.status is OrderStatus.CONFIRMED
    assert any(isinstance(event, OrderPlaced) for event in driver.store.outbox)
    assert driver.notifier.sent == []


def test_place_order_keeps_the_token_and_address_out_of_its_repr() -> None:
    command = PlaceOrder(
        customer_id="c", cart_id="cart-1", shipping_address=ADDRESS, payment_token="tok_visa"
    )

    text = repr(command)

    assert "tok_visa" not in text
    assert ADDRESS.line1 not in text
    assert command.order_id in text
    assert "cart-1" in text
