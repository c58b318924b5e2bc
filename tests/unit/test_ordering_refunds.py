"""Refunds: only of captured money, never more than it, each key at most once."""

from __future__ import annotations

import pytest

from shopcore import (
    CancelOrder,
    DeliverOrder,
    IllegalTransition,
    InvalidInput,
    Money,
    NotFound,
    OrderStatus,
    PaymentDeclined,
    RefundOrder,
    ShipOrder,
)
from shopcore.ordering.events import OrderRefunded
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order
from shopcore.payments.model import Payment, PaymentStatus, TransactionKind
from shopcore.payments.queries import payments_for_order
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, eur
from tests.unit.scripted_gateway import ScriptedGateway, scripted_driver


@pytest.fixture
def scripted() -> tuple[ShopDriver, ScriptedGateway]:
    return scripted_driver()


async def shipped(driver: ShopDriver) -> Order:
    """An order of 2 x 25.00 to Germany: free shipping, 9.50 VAT, 59.50 in all."""
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)
    order = await driver.buy({"TEE-M": 2})
    assert order.total == eur(5950)
    result: Order = await driver.handle(ShipOrder(order_id=order.id))
    return result


async def refund(driver: ShopDriver, order: Order, amount: int, key: str = "r1") -> Order:
    result: Order = await driver.handle(
        RefundOrder(order_id=order.id, amount=eur(amount), idempotency_key=key)
    )
    return result


async def stored(driver: ShopDriver, order_id: str) -> Order:
    order = await get_order(driver.shop.uow(), order_id, None)
    assert order is not None
    return order


async def payment_of(driver: ShopDriver, order: Order) -> Payment:
    (payment,) = await payments_for_order(driver.shop.uow(), order.id)
    return payment


def refunded_events(driver: ShopDriver) -> list[tuple[str, int, bool]]:
    return [
        (e.order_id, e.amount.amount, e.fully)
        for e in driver.store.outbox
        if isinstance(e, OrderRefunded)
    ]


async def test_a_partial_refund(driver: ShopDriver) -> None:
    order = await shipped(driver)

    after = await refund(driver, order, 2000, key="damaged")

    assert after.status is OrderStatus.PARTIALLY_REFUNDED
    assert after.refunded == eur(2000)
    assert after.refundable == eur(3950)
    assert (await stored(driver, order.id)).refunded == eur(2000)
    payment = await payment_of(driver, order)
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded == eur(2000)
    assert (payment.transactions[-1].kind, payment.transactions[-1].idempotency_key) == (
        TransactionKind.REFUND,
        f"{order.id}:refund:damaged",
    )
    assert driver.gateway.refunded_total == 2000
    assert refunded_events(driver) == [(order.id, 2000, False)]


async def test_refunding_the_rest_completes_the_refund(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await refund(driver, order, 2000, key="first")

    after = await refund(driver, order, 3950, key="second")

    assert after.status is OrderStatus.REFUNDED
    assert after.refunded == order.total
    assert after.refundable == eur(0)
    assert (await payment_of(driver, order)).status is PaymentStatus.REFUNDED
    assert driver.gateway.refunded_total == 5950
    assert refunded_events(driver) == [(order.id, 2000, False), (order.id, 3950, True)]


async def test_a_full_refund_at_once(driver: ShopDriver) -> None:
    order = await shipped(driver)

    after = await refund(driver, order, 5950)

    assert after.status is OrderStatus.REFUNDED
    assert refunded_events(driver) == [(order.id, 5950, True)]


async def test_a_delivered_order_can_be_refunded(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await driver.handle(DeliverOrder(order_id=order.id))

    after = await refund(driver, order, 100)

    assert after.status is OrderStatus.PARTIALLY_REFUNDED


async def test_a_refund_above_what_was_captured_is_refused(driver: ShopDriver) -> None:
    order = await shipped(driver)

    with pytest.raises(InvalidInput) as caught:
        await refund(driver, order, 5951)

    assert caught.value.code == "invalid-input"
    after = await stored(driver, order.id)
    assert (after.status, after.refunded, after.refunds) == (OrderStatus.SHIPPED, eur(0), [])
    assert driver.gateway.refunded_total == 0


async def test_a_refund_above_what_is_left_is_refused(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await refund(driver, order, 5000, key="first")

    with pytest.raises(InvalidInput, match="at most 950 EUR"):
        await refund(driver, order, 951, key="second")

    assert (await stored(driver, order.id)).refunded == eur(5000)
    assert driver.gateway.refunded_total == 5000


@pytest.mark.parametrize(
    "amount", [eur(0), eur(-100), Money(100, "USD")], ids=["zero", "negative", "usd"]
)
async def test_a_refund_must_be_a_positive_amount_in_the_order_currency(
    driver: ShopDriver, amount: Money
) -> None:
    order = await shipped(driver)

    with pytest.raises(InvalidInput):
        await driver.handle(RefundOrder(order_id=order.id, amount=amount, idempotency_key="k"))

    assert driver.gateway.refunded_total == 0


async def test_a_repeated_key_refunds_once(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await refund(driver, order, 1000, key="same")
    calls = driver.gateway.calls

    again = await refund(driver, order, 1000, key="same")

    assert again.refunded == eur(1000)
    assert again.status is OrderStatus.PARTIALLY_REFUNDED
    assert driver.gateway.calls == calls
    assert driver.gateway.refunded_total == 1000
    assert refunded_events(driver) == [(order.id, 1000, False)]


async def test_a_new_key_is_a_new_refund(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await refund(driver, order, 1000, key="one")

    after = await refund(driver, order, 1000, key="two")

    assert after.refunded == eur(2000)
    assert driver.gateway.refunded_total == 2000


async def test_a_retry_while_the_first_attempt_is_at_the_gateway_refunds_once(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    order = await shipped(driver)
    retried: list[Order] = []

    async def client_retries() -> None:
        retried.append(await refund(driver, order, 1000, key="same"))

    gateway.meanwhile["refund"] = client_retries

    first = await refund(driver, order, 1000, key="same")

    assert first.refunded == eur(1000)
    assert retried[0].refunded == eur(1000)
    assert (await stored(driver, order.id)).refunded == eur(1000)
    assert gateway.refunded_total == 1000
    payment = await payment_of(driver, order)
    assert payment.refunded == eur(1000)
    assert [tx.kind for tx in payment.transactions].count(TransactionKind.REFUND) == 1
    assert refunded_events(driver) == [(order.id, 1000, False)]


async def test_a_refund_in_flight_counts_against_the_limit(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    """Two staff members refund most of the order at once: the second sees the first booked."""
    driver, gateway = scripted
    order = await shipped(driver)
    refused: list[InvalidInput] = []

    async def colleague_refunds() -> None:
        try:
            await refund(driver, order, 4000, key="colleague")
        except InvalidInput as error:
            refused.append(error)

    gateway.meanwhile["refund"] = colleague_refunds

    after = await refund(driver, order, 4000, key="mine")

    assert after.refunded == eur(4000)
    assert ["at most 1950 EUR" in str(error) for error in refused] == [True]
    assert gateway.refunded_total == 4000


async def test_a_refused_refund_is_unbooked_so_a_new_one_fits(
    scripted: tuple[ShopDriver, ScriptedGateway],
) -> None:
    driver, gateway = scripted
    order = await shipped(driver)
    gateway.refusing.add("refund")

    with pytest.raises(PaymentDeclined) as caught:
        await refund(driver, order, 1000, key="k")

    assert caught.value.code == "payment-declined"
    after = await stored(driver, order.id)
    assert (after.status, after.refunded, after.refunds) == (OrderStatus.SHIPPED, eur(0), [])
    payment = await payment_of(driver, order)
    assert (payment.transactions[-1].kind, payment.transactions[-1].succeeded) == (
        TransactionKind.REFUND,
        False,
    )
    assert payment.refunded == eur(0)

    # A real gateway replays its refusal for key "k"; the retry is a new request.
    gateway.refusing.clear()
    retried = await refund(driver, order, 1000, key="k2")

    assert retried.refunded == eur(1000)
    assert gateway.refunded_total == 1000


async def test_an_order_not_yet_shipped_has_nothing_captured_to_refund(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    order = await driver.buy({"TEE-M": 1})

    with pytest.raises(IllegalTransition) as caught:
        await refund(driver, order, 100)

    assert caught.value.code == "illegal-transition"
    assert (await stored(driver, order.id)).refunds == []


async def test_a_cancelled_order_cannot_be_refunded(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    order = await driver.buy({"TEE-M": 1})
    await driver.handle(CancelOrder(order_id=order.id, customer_id=None))

    with pytest.raises(IllegalTransition):
        await refund(driver, order, 100)


async def test_a_fully_refunded_order_takes_no_new_refund(driver: ShopDriver) -> None:
    order = await shipped(driver)
    await refund(driver, order, 5950, key="all")

    with pytest.raises(IllegalTransition):
        await refund(driver, order, 1, key="more")

    assert driver.gateway.refunded_total == 5950


async def test_refunding_an_unknown_order_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(RefundOrder(order_id=new_id(), amount=eur(100), idempotency_key="k"))
