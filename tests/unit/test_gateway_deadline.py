"""No authorization is still in flight when an order's deadline passes.

The recovery job looks at an order only past its deadline and asks the gateway what it holds
under the order's key. Were an authorization still on its way then, recovery would find none
and end the order, and the late approval would hold the customer's money for an order nobody
fills. So every gateway call is cut off at the gateway timeout (adapters/payments/bounded.py),
and a checkout asks for no authorization once less than that timeout is left before its
deadline (shopcore/ordering/checkout.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest

from adapters.payments.bounded import BoundedGateway
from adapters.payments.simulated import SimulatedGateway
from apps.settings import Settings
from shopcore import PlaceOrder, RecoverOrders
from shopcore.cart.model import Cart
from shopcore.customers.model import Customer
from shopcore.ordering.model import OrderStatus
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import CheckoutInterrupted, PaymentGatewayUnavailable
from shopcore.shared.money import Money
from tests.support.books import all_orders, assert_books_settled
from tests.support.driver import ADDRESS, ShopDriver, build_driver, eur

RECEIVED = {"TEE-M": 5}
TIMEOUT = 0.2  # seconds


@dataclass
class LateGateway(SimulatedGateway):
    """Authorizes at once, then its answer takes `late` seconds to come back (a slow network:
    the bank holds the money before the shop hears so)."""

    late: float = 0.0

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        response = await super().authorize(amount, token, idempotency_key)
        await asyncio.sleep(self.late)
        return response


async def a_shopper(driver: ShopDriver) -> tuple[Customer, Cart]:
    """A customer with 2 of the 5 TEE-M in stock in their cart."""
    await driver.product("TEE-M")
    await driver.receive("TEE-M", RECEIVED["TEE-M"])
    customer = await driver.customer()
    return customer, await driver.cart(customer, {"TEE-M": 2})


def due_in(seconds: int, customer: Customer, cart: Cart, driver: ShopDriver) -> PlaceOrder:
    """The checkout of `cart`, to be settled `seconds` from the driver's now."""
    return PlaceOrder(
        customer_id=customer.id,
        cart_id=cart.id,
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        settle_by=driver.clock.now() + timedelta(seconds=seconds),
    )


async def test_a_call_within_the_timeout_is_answered() -> None:
    gateway = BoundedGateway(LateGateway(late=0.01), timedelta(seconds=TIMEOUT))

    response = await gateway.authorize(eur(1000), "tok_visa", "k-1")

    assert response.approved


async def test_a_call_past_the_timeout_is_cut_off_as_the_gateway_unavailable() -> None:
    gateway = BoundedGateway(LateGateway(late=30), timedelta(seconds=TIMEOUT))
    started = time.monotonic()

    with pytest.raises(PaymentGatewayUnavailable, match=r"within 0\.2 s"):
        await gateway.authorize(eur(1000), "tok_visa", "k-1")

    assert time.monotonic() - started < 5  # cut off, not waited out


async def test_every_kind_of_call_is_bounded() -> None:
    class Hanging(SimulatedGateway):
        async def capture(self, *args: object) -> GatewayResponse:
            await asyncio.sleep(30)
            raise AssertionError("not cut off")

        async def void(self, *args: object) -> GatewayResponse:
            await asyncio.sleep(30)
            raise AssertionError("not cut off")

        async def refund(self, *args: object) -> GatewayResponse:
            await asyncio.sleep(30)
            raise AssertionError("not cut off")

        async def lookup(self, *args: object) -> GatewayResponse | None:
            await asyncio.sleep(30)
            raise AssertionError("not cut off")

    gateway = BoundedGateway(Hanging(), timedelta(seconds=0.01))
    calls = [
        gateway.capture("ref", eur(1), "k"),
        gateway.void("ref", "k"),
        gateway.refund("ref", eur(1), "k"),
        gateway.lookup("k"),
    ]
    for call in calls:
        with pytest.raises(PaymentGatewayUnavailable):
            await call


async def test_an_authorization_whose_answer_was_cut_off_is_learned_and_the_order_goes_on() -> None:
    """The bank approved, its answer did not come back in time: the shop asks what the bank
    answered under the key, and the order is confirmed on that authorization."""
    gateway = LateGateway(late=30)
    driver = build_driver(Settings(gateway_timeout_seconds=TIMEOUT), gateway=gateway)
    customer, cart = await a_shopper(driver)

    order = await driver.checkout(customer, cart)

    assert order.status is OrderStatus.CONFIRMED
    [charge] = gateway.charges.values()
    assert (charge.amount, charge.voided) == (order.total, False)
    await assert_books_settled(driver, RECEIVED)


@dataclass
class LostGateway(SimulatedGateway):
    """The call never reaches the bank and nothing comes back: it hangs until cut off."""

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        await asyncio.sleep(30)
        raise AssertionError("not cut off")


async def test_an_authorization_cut_off_that_the_bank_never_saw_ends_the_order() -> None:
    gateway = LostGateway()
    driver = build_driver(Settings(gateway_timeout_seconds=TIMEOUT), gateway=gateway)
    customer, cart = await a_shopper(driver)

    with pytest.raises(PaymentGatewayUnavailable, match="did not answer the authorization"):
        await driver.checkout(customer, cart)

    (order,) = await all_orders(driver)
    assert order.status is OrderStatus.PAYMENT_FAILED
    assert gateway.charges == {}
    assert await driver.available("TEE-M") == RECEIVED["TEE-M"]
    await assert_books_settled(driver, RECEIVED)


async def test_a_checkout_left_with_less_than_the_timeout_asks_the_gateway_nothing() -> None:
    """Its deadline is 10 s away and the gateway may take 20: it stops before asking, so the
    recovery job, 10 s from now, cannot meet an authorization on its way."""
    gateway = SimulatedGateway()
    driver = build_driver(Settings(gateway_timeout_seconds=20), gateway=gateway)
    customer, cart = await a_shopper(driver)

    with pytest.raises(CheckoutInterrupted):
        await driver.handle(due_in(10, customer, cart, driver))

    assert gateway.charges == {}
    (order,) = await all_orders(driver)
    assert order.status is OrderStatus.CANCELLED
    assert await driver.available("TEE-M") == RECEIVED["TEE-M"]
    driver.clock.advance(seconds=11)
    await driver.handle(RecoverOrders())
    await assert_books_settled(driver, RECEIVED)


async def test_a_checkout_with_the_timeout_left_asks_the_gateway() -> None:
    gateway = SimulatedGateway()
    driver = build_driver(Settings(gateway_timeout_seconds=20), gateway=gateway)
    customer, cart = await a_shopper(driver)

    order = await driver.handle(due_in(21, customer, cart, driver))

    assert order.status is OrderStatus.CONFIRMED
    assert len(gateway.charges) == 1
