"""Authorizing: the gateway is asked once per payment, and its answer is kept either way."""

from __future__ import annotations

import pytest

from shopcore import InvalidInput, Money, PaymentDeclined, PaymentGatewayUnavailable
from shopcore.payments.commands import AuthorizePayment
from shopcore.payments.events import PaymentAuthorized, PaymentDeclinedEvent
from shopcore.payments.model import Payment, PaymentStatus, TransactionKind
from shopcore.payments.queries import get_payment, payments_for_order
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, eur


def authorize(
    token: str = "tok_visa", amount: Money | None = None, order_id: str | None = None
) -> AuthorizePayment:
    return AuthorizePayment(
        payment_id=new_id(),
        order_id=order_id or new_id(),
        amount=amount or eur(5000),
        token=token,
        idempotency_key=f"{new_id()}:authorize",
    )


async def stored(driver: ShopDriver, payment_id: str) -> Payment:
    payment = await get_payment(driver.shop.uow(), payment_id)
    assert payment is not None
    return payment


async def test_an_approved_authorization_is_recorded(driver: ShopDriver) -> None:
    command = authorize()

    payment: Payment = await driver.handle(command)

    assert payment.status is PaymentStatus.AUTHORIZED
    assert (payment.id, payment.order_id, payment.amount) == (
        command.payment_id,
        command.order_id,
        eur(5000),
    )
    assert payment.captured == eur(0)
    assert payment.refunded == eur(0)
    assert payment.created_at == driver.clock.now()
    assert payment.gateway_reference in driver.gateway.charges
    (tx,) = payment.transactions
    assert (tx.kind, tx.amount, tx.succeeded, tx.reference, tx.idempotency_key) == (
        TransactionKind.AUTHORIZE,
        eur(5000),
        True,
        payment.gateway_reference,
        command.idempotency_key,
    )
    assert await stored(driver, payment.id) == payment
    events = [e for e in driver.store.outbox if isinstance(e, PaymentAuthorized)]
    assert [(e.payment_id, e.order_id, e.amount) for e in events] == [
        (payment.id, command.order_id, eur(5000))
    ]


async def test_authorizing_again_replays_the_recorded_payment(driver: ShopDriver) -> None:
    command = authorize()
    first: Payment = await driver.handle(command)

    again: Payment = await driver.handle(command)

    assert again == first
    assert driver.gateway.calls == 1
    assert len(driver.gateway.charges) == 1
    assert len(await payments_for_order(driver.shop.uow(), command.order_id)) == 1


async def test_a_decline_is_recorded_and_raised(driver: ShopDriver) -> None:
    command = authorize("tok_decline")

    with pytest.raises(PaymentDeclined) as caught:
        await driver.handle(command)

    assert caught.value.code == "payment-declined"
    payment = await stored(driver, command.payment_id)
    assert payment.status is PaymentStatus.DECLINED
    assert payment.gateway_reference is None
    (tx,) = payment.transactions
    assert (tx.succeeded, tx.message) == (False, "card declined")
    events = [e for e in driver.store.outbox if isinstance(e, PaymentDeclinedEvent)]
    assert [(e.payment_id, e.reason) for e in events] == [(payment.id, "declined")]
    assert driver.gateway.charges == {}


async def test_an_outage_is_recorded_as_failed_and_raised(driver: ShopDriver) -> None:
    command = authorize("tok_error")

    with pytest.raises(PaymentGatewayUnavailable) as caught:
        await driver.handle(command)

    assert caught.value.code == "payment-gateway-unavailable"
    payment = await stored(driver, command.payment_id)
    assert payment.status is PaymentStatus.FAILED
    (tx,) = payment.transactions
    assert tx.succeeded is False
    assert "tok_error" in tx.message
    events = [e for e in driver.store.outbox if isinstance(e, PaymentDeclinedEvent)]
    assert [e.reason for e in events] == ["failed"]


@pytest.mark.parametrize(
    ("token", "error"),
    [("tok_decline", PaymentDeclined), ("tok_error", PaymentGatewayUnavailable)],
)
async def test_a_failed_authorization_replays_its_failure_without_the_gateway(
    driver: ShopDriver, token: str, error: type[Exception]
) -> None:
    command = authorize(token)
    with pytest.raises(error):
        await driver.handle(command)
    calls = driver.gateway.calls

    with pytest.raises(error):
        await driver.handle(command)

    assert driver.gateway.calls == calls
    assert len(await payments_for_order(driver.shop.uow(), command.order_id)) == 1


@pytest.mark.parametrize("amount", [0, -100])
async def test_a_payment_must_be_for_a_positive_amount(driver: ShopDriver, amount: int) -> None:
    command = authorize(amount=eur(amount))

    with pytest.raises(InvalidInput, match="positive amount"):
        await driver.handle(command)

    assert await get_payment(driver.shop.uow(), command.payment_id) is None
    assert driver.gateway.charges == {}


async def test_payments_of_an_order_are_listed_by_id(driver: ShopDriver) -> None:
    order_id = new_id()
    first = authorize("tok_decline", order_id=order_id)
    second = authorize("tok_visa", order_id=order_id)
    with pytest.raises(PaymentDeclined):
        await driver.handle(first)
    await driver.handle(second)

    found = await payments_for_order(driver.shop.uow(), order_id)

    assert [p.id for p in found] == sorted([first.payment_id, second.payment_id])
    assert await payments_for_order(driver.shop.uow(), new_id()) == []


def test_the_authorize_command_keeps_the_token_out_of_its_repr() -> None:
    command = authorize("tok_visa")

    text = repr(command)

    assert "tok_visa" not in text
    assert command.payment_id in text
    assert command.order_id in text
