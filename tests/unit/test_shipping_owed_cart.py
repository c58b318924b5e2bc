"""An order left confirmed with its cart still owed the checkout's last step must not leave
the cart held for ever when staff ship it before the recovery job comes to it: the shipment
settles the order, so it does that step too.

Found by the fault run (tests/faults, seed 4 of the short run): every database connection
was terminated while a checkout was finishing, and the order was shipped and refunded before
the recovery job came to it; its cart was never checked out. A checkout now confirms the
order and checks its cart out in one transaction, so it no longer leaves this state behind,
but an order the previous release left so (it deployed with checkouts under way) still ships
the same way."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory.store import MemoryStore
from shopcore import OrderStatus, PlaceOrder, ShipOrder
from shopcore.cart.model import CartStatus
from tests.support.driver import ADDRESS, build_driver


async def test_shipping_an_order_checks_out_the_cart_its_checkout_left_to_recovery() -> None:
    store = MemoryStore()
    driver = build_driver(store=store)
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 3)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    order = await driver.handle(
        PlaceOrder(
            customer_id=customer.id,
            cart_id=cart.id,
            shipping_address=ADDRESS,
            payment_token="tok_visa",
        )
    )
    # As the previous release left it: confirmed, unsettled, the cart still held.
    held = store.carts.get(cart.id)
    left = store.orders.get(order.id)
    assert held is not None and left is not None
    held.status = CartStatus.CHECKING_OUT
    store.carts.write(cart.id, held)
    left.unsettle(driver.clock.now() + timedelta(seconds=60))
    store.orders.write(order.id, left)

    shipped = await driver.handle(ShipOrder(order_id=order.id))

    assert (shipped.status, shipped.settled) == (OrderStatus.SHIPPED, True)
    stored = store.carts.get(cart.id)
    assert stored is not None and (stored.status, stored.order_id) == (
        CartStatus.CHECKED_OUT,
        order.id,
    )
    assert await driver.available("TEE-M") == 1
