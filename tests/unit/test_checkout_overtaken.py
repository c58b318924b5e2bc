"""A checkout that is slow, not dead, is overtaken by the recovery job: once the order is
past its `settle_by`, a worker drives it forward while the request that placed it is still
finishing. Both then confirm the same order; the one that loses the version check must read
the order again and find its work done, not answer 409 for an order that was confirmed.

Found by the fault run (tests/faults): under 40 shoppers on two cores a checkout took longer
than SETTLE_WITHIN, and its customer was answered 409 `concurrency-conflict` (replayed so
for ever under the key) while the card was authorized and the order confirmed."""

from __future__ import annotations

from adapters.memory.store import MemoryStore
from shopcore import OrderStatus, PlaceOrder, RecoverOrders
from shopcore.cart.model import CartStatus
from shopcore.ordering.model import Order
from tests.support.books import assert_books_settled
from tests.support.driver import ADDRESS, build_driver
from tests.unit.scripted_unit_of_work import Before, ScriptedUnitOfWork

SETTLE_WITHIN = 60  # the default Settings.settle_within_seconds


def confirms(stored: Order | None, changed: Order) -> bool:
    return (stored is not None and stored.status is OrderStatus.PENDING_PAYMENT) and (
        changed.status is OrderStatus.CONFIRMED
    )


async def test_a_checkout_overtaken_by_recovery_answers_its_confirmed_order() -> None:
    store, script = MemoryStore(), list[Before]()
    driver = build_driver(store=store, unit_of_work=lambda: ScriptedUnitOfWork(store, script))
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 3)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    async def the_worker_recovers_the_slow_checkout() -> None:
        driver.clock.advance(seconds=SETTLE_WITHIN + 1)
        assert await driver.handle(RecoverOrders()) == 1

    script.append(Before(confirms, the_worker_recovers_the_slow_checkout))
    order = await driver.handle(
        PlaceOrder(
            customer_id=customer.id,
            cart_id=cart.id,
            shipping_address=ADDRESS,
            payment_token="tok_visa",
        )
    )

    assert script == [], "the recovery job did not run during the confirmation"
    assert (order.status, order.settled) == (OrderStatus.CONFIRMED, True)
    stored_cart = store.carts.get(cart.id)
    assert stored_cart is not None and stored_cart.status is CartStatus.CHECKED_OUT
    await assert_books_settled(driver, {"TEE-M": 3})
