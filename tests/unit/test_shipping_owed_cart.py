"""A checkout that confirmed its order but could not check the cart out leaves that step to
the recovery job. If staff ship the order first, the shipment settles the order: it must do
the step it was owed too, or the cart stays `checking_out` for ever.

Found by the fault run (tests/faults, seed 4 of the short run): every database connection
was terminated while a checkout was finishing, and the order was shipped and refunded before
the recovery job came to it; its cart was never checked out."""

from __future__ import annotations

from adapters.memory.store import MemoryStore
from shopcore import Busy, OrderStatus, PlaceOrder, ShipOrder
from shopcore.cart.model import Cart, CartStatus
from tests.support.driver import ADDRESS, build_driver
from tests.unit.scripted_unit_of_work import Before, ScriptedUnitOfWork


def checks_out(stored: Cart | None, changed: Cart) -> bool:
    return (stored is not None and stored.status is CartStatus.CHECKING_OUT) and (
        changed.status is CartStatus.CHECKED_OUT
    )


async def database_drops_the_connection() -> None:
    raise Busy("the database dropped the connection")


async def test_shipping_an_order_checks_out_the_cart_its_checkout_left_to_recovery() -> None:
    store = MemoryStore()
    script = [Before(checks_out, database_drops_the_connection)]
    driver = build_driver(store=store, unit_of_work=lambda: ScriptedUnitOfWork(store, script))
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
    assert (order.status, order.settled) == (OrderStatus.CONFIRMED, False)  # the cart is owed

    shipped = await driver.handle(ShipOrder(order_id=order.id))

    assert (shipped.status, shipped.settled) == (OrderStatus.SHIPPED, True)
    stored = store.carts.get(cart.id)
    assert stored is not None and (stored.status, stored.order_id) == (
        CartStatus.CHECKED_OUT,
        order.id,
    )
    assert await driver.available("TEE-M") == 1
