"""A checkout that is slow, not dead, is overtaken by the recovery job: once the order is
past its `settle_by`, a worker drives it forward while the request that placed it is still
finishing. Both then confirm the same order; the one that loses the version check must read
the order again and find its work done, not answer 409 for an order that was confirmed.

Found by the fault run (tests/faults): under 40 shoppers on two cores a checkout took longer
than SETTLE_WITHIN, and its customer was answered 409 `concurrency-conflict` (replayed so
for ever under the key) while the card was authorized and the order confirmed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from shopcore import OrderStatus, PlaceOrder, RecoverOrders
from shopcore.cart.model import CartStatus
from shopcore.ordering.model import Order
from tests.support.books import assert_books_settled
from tests.support.driver import ADDRESS, build_driver

SETTLE_WITHIN = 60  # the default Settings.settle_within_seconds


@dataclass
class Script:
    meanwhile: Callable[[], Awaitable[None]] | None = None


class OvertakenUnitOfWork(MemoryUnitOfWork):
    """Runs the script's step (once) just before the commit that confirms an order: another
    process's work, committed between this unit's read of the order and its write."""

    def __init__(self, store: MemoryStore, script: Script) -> None:
        super().__init__(store)
        self._store, self._script, self._read = store, script, list[Order]()
        get = self.orders.get

        async def remembered(order_id: str) -> Order | None:
            order = await get(order_id)
            if order is not None:
                self._read.append(order)
            return order

        self.orders.get = remembered  # type: ignore[method-assign]

    async def commit(self) -> None:
        step, self._script.meanwhile = self._script.meanwhile, None
        if step is not None and any(self._confirms(order) for order in self._read):
            await step()
        else:
            self._script.meanwhile = step
        await super().commit()

    def _confirms(self, order: Order) -> bool:
        stored = self._store.orders.get(order.id)
        return order.status is OrderStatus.CONFIRMED and (
            stored is not None and stored.status is OrderStatus.PENDING_PAYMENT
        )


async def test_a_checkout_overtaken_by_recovery_answers_its_confirmed_order() -> None:
    store, script = MemoryStore(), Script()
    driver = build_driver(store=store, unit_of_work=lambda: OvertakenUnitOfWork(store, script))
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 3)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    async def the_worker_recovers_the_slow_checkout() -> None:
        driver.clock.advance(seconds=SETTLE_WITHIN + 1)
        assert await driver.handle(RecoverOrders()) == 1

    script.meanwhile = the_worker_recovers_the_slow_checkout
    order = await driver.handle(
        PlaceOrder(
            customer_id=customer.id,
            cart_id=cart.id,
            shipping_address=ADDRESS,
            payment_token="tok_visa",
        )
    )

    assert script.meanwhile is None, "the recovery job did not run during the confirmation"
    assert (order.status, order.settled) == (OrderStatus.CONFIRMED, True)
    stored_cart = store.carts.get(cart.id)
    assert stored_cart is not None and stored_cart.status is CartStatus.CHECKED_OUT
    await assert_books_settled(driver, {"TEE-M": 3})
