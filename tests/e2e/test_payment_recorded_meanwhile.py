"""The recovery job may put a checkout's authorization on the books while the checkout itself
is about to (its request stalled past its deadline, then woke). A SQL unit of work reports
that clash at the checkout's completing commit, not when the payment is added: the checkout
goes on with the copy on the books, and the order is confirmed once, with one payment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.payments.simulated import SimulatedGateway
from apps.settings import Settings
from shopcore import ReconcilePayment
from shopcore.bootstrap import Shop
from shopcore.cart.model import CartStatus
from shopcore.inventory.model import ReservationStatus
from shopcore.ordering.model import OrderStatus
from shopcore.payments.model import PaymentStatus
from shopcore.payments.ports import GatewayResponse
from shopcore.payments.queries import payments_for_order
from shopcore.shared.money import Money
from tests.e2e.conftest import BACKENDS, database_url
from tests.support.books import all_orders
from tests.support.driver import ShopDriver, build_driver


@dataclass
class RecoveryFirst(SimulatedGateway):
    """Authorizes, then, before the checkout hears the answer, the recovery job (another
    shop over the same database and bank) records the authorization."""

    recovery: list[Shop] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        response = await super().authorize(amount, token, idempotency_key)
        order_id = idempotency_key.removesuffix(":authorize")
        recorded = await self.recovery[0].handle(
            ReconcilePayment(
                payment_id=order_id,
                order_id=order_id,
                amount=amount,
                idempotency_key=idempotency_key,
            )
        )
        assert recorded is not None and recorded.status is PaymentStatus.AUTHORIZED
        self.orders.append(order_id)
        return response


@pytest.fixture(params=BACKENDS)
async def scene(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ShopDriver, RecoveryFirst]]:
    settings = Settings(database_url=await database_url(request, tmp_path), database_pool_size=3)
    gateway = RecoveryFirst()
    driver = build_driver(settings, gateway=gateway)
    recovery = build_driver(settings, gateway=gateway)
    gateway.recovery.append(recovery.shop)
    try:
        yield driver, gateway
    finally:
        await recovery.close()
        await driver.close()


async def test_a_checkout_whose_payment_recovery_recorded_first_is_confirmed_once(
    scene: tuple[ShopDriver, RecoveryFirst],
) -> None:
    driver, gateway = scene
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    order = await driver.checkout(customer, cart)

    assert gateway.orders == [order.id]  # the recovery's record came first
    assert order.status is OrderStatus.CONFIRMED
    [payment] = await payments_for_order(driver.shop.uow(), order.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    (stored,) = await all_orders(driver)
    assert (stored.id, stored.status, stored.settled) == (order.id, OrderStatus.CONFIRMED, True)
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    assert reservation is not None and reservation.status is ReservationStatus.ALLOCATED
    async with driver.shop.uow() as uow:
        checked_out = await uow.carts.get(cart.id)
    assert checked_out is not None
    assert (checked_out.status, checked_out.order_id) == (CartStatus.CHECKED_OUT, order.id)
    [charge] = gateway.charges.values()
    assert (charge.amount, charge.voided, charge.captured) == (order.total, False, 0)
