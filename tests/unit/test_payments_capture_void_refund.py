"""Capture, void and refund: each checked against the payment's state first, each gateway
answer logged, and a key that already went through is never sent twice."""

from __future__ import annotations

import asyncio

import pytest

from shopcore import (
    IllegalTransition,
    InvalidInput,
    Money,
    NotFound,
    PaymentDeclined,
    PaymentGatewayUnavailable,
)
from shopcore.payments.commands import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from shopcore.payments.events import PaymentCaptured, PaymentRefunded, PaymentVoided
from shopcore.payments.model import Payment, PaymentStatus, TransactionKind
from shopcore.payments.queries import get_payment
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, eur
from tests.unit.scripted_gateway import scripted_driver


async def authorized(driver: ShopDriver, amount: int = 5000, token: str = "tok_visa") -> Payment:
    payment: Payment = await driver.handle(
        AuthorizePayment(
            payment_id=new_id(),
            order_id=new_id(),
            amount=eur(amount),
            token=token,
            idempotency_key=new_id(),
        )
    )
    return payment


async def never_authorized(driver: ShopDriver, token: str) -> str:
    """The id of a payment the gateway declined (tok_decline) or never answered (tok_error)."""
    payment_id = new_id()
    error = PaymentDeclined if token == "tok_decline" else PaymentGatewayUnavailable
    with pytest.raises(error):
        await driver.handle(
            AuthorizePayment(
                payment_id=payment_id,
                order_id=new_id(),
                amount=eur(100),
                token=token,
                idempotency_key=new_id(),
            )
        )
    return payment_id


async def captured(driver: ShopDriver, amount: int = 5000) -> Payment:
    payment = await authorized(driver, amount)
    result: Payment = await driver.handle(
        CapturePayment(payment_id=payment.id, idempotency_key="c")
    )
    return result


async def refund(driver: ShopDriver, payment: Payment, amount: int, key: str) -> Payment:
    result: Payment = await driver.handle(
        RefundPayment(payment_id=payment.id, amount=eur(amount), idempotency_key=key)
    )
    return result


async def stored(driver: ShopDriver, payment_id: str) -> Payment:
    payment = await get_payment(driver.shop.uow(), payment_id)
    assert payment is not None
    return payment


def reference(payment: Payment) -> str:
    assert payment.gateway_reference is not None
    return payment.gateway_reference


def last(payment: Payment) -> tuple[TransactionKind, bool, str]:
    tx = payment.transactions[-1]
    return tx.kind, tx.succeeded, tx.idempotency_key


# -- capture ------------------------------------------------------------------------------


async def test_capture_takes_the_authorized_amount(driver: ShopDriver) -> None:
    payment = await authorized(driver, 5000)

    after: Payment = await driver.handle(
        CapturePayment(payment_id=payment.id, idempotency_key="order:capture")
    )

    assert after.status is PaymentStatus.CAPTURED
    assert after.captured == eur(5000)
    assert after.refundable == eur(5000)
    assert last(after) == (TransactionKind.CAPTURE, True, "order:capture")
    assert await stored(driver, payment.id) == after
    assert driver.gateway.charges[reference(payment)].captured == 5000
    events = [e for e in driver.store.outbox if isinstance(e, PaymentCaptured)]
    assert [(e.payment_id, e.amount) for e in events] == [(payment.id, eur(5000))]


async def test_capturing_again_changes_nothing(driver: ShopDriver) -> None:
    payment = await captured(driver)
    calls = driver.gateway.calls

    again: Payment = await driver.handle(
        CapturePayment(payment_id=payment.id, idempotency_key="another key")
    )

    assert again == payment
    assert driver.gateway.calls == calls
    assert driver.gateway.captured_total == 5000


async def test_two_captures_at_once_capture_once() -> None:
    driver, gateway = scripted_driver()
    payment = await authorized(driver)
    gateway.slow = True
    capture = CapturePayment(payment_id=payment.id, idempotency_key="order:capture")

    first, second = await asyncio.gather(driver.handle(capture), driver.handle(capture))

    assert first.status is second.status is PaymentStatus.CAPTURED
    after = await stored(driver, payment.id)
    assert [tx.kind for tx in after.transactions] == [
        TransactionKind.AUTHORIZE,
        TransactionKind.CAPTURE,
    ]
    assert gateway.captured_total == 5000


@pytest.mark.parametrize("token", ["tok_decline", "tok_error"])
async def test_a_payment_that_was_never_authorized_cannot_be_captured(
    driver: ShopDriver, token: str
) -> None:
    payment_id = await never_authorized(driver, token)

    with pytest.raises(IllegalTransition) as caught:
        await driver.handle(CapturePayment(payment_id=payment_id, idempotency_key="c"))

    assert caught.value.code == "illegal-transition"


async def test_a_voided_payment_cannot_be_captured(driver: ShopDriver) -> None:
    payment = await authorized(driver)
    await driver.handle(VoidPayment(payment_id=payment.id, idempotency_key="v"))

    with pytest.raises(IllegalTransition):
        await driver.handle(CapturePayment(payment_id=payment.id, idempotency_key="c"))

    assert driver.gateway.captured_total == 0


async def test_a_capture_the_gateway_refuses_is_logged_and_raised(driver: ShopDriver) -> None:
    payment = await authorized(driver)
    # Someone captured this charge at the bank by hand, so the bank refuses ours.
    await driver.gateway.capture(reference(payment), eur(5000), "by hand")

    with pytest.raises(PaymentDeclined, match="refused to capture: cannot capture"):
        await driver.handle(CapturePayment(payment_id=payment.id, idempotency_key="c"))

    after = await stored(driver, payment.id)
    assert after.status is PaymentStatus.AUTHORIZED
    assert after.captured == eur(0)
    assert last(after) == (TransactionKind.CAPTURE, False, "c")


# -- void ---------------------------------------------------------------------------------


async def test_void_releases_the_authorization(driver: ShopDriver) -> None:
    payment = await authorized(driver)

    after: Payment = await driver.handle(
        VoidPayment(payment_id=payment.id, idempotency_key="order:void")
    )

    assert after.status is PaymentStatus.VOIDED
    assert last(after) == (TransactionKind.VOID, True, "order:void")
    assert driver.gateway.charges[reference(payment)].voided
    events = [e for e in driver.store.outbox if isinstance(e, PaymentVoided)]
    assert [(e.payment_id, e.order_id) for e in events] == [(payment.id, payment.order_id)]


async def test_voiding_again_changes_nothing(driver: ShopDriver) -> None:
    payment = await authorized(driver)
    first: Payment = await driver.handle(VoidPayment(payment_id=payment.id, idempotency_key="v"))
    calls = driver.gateway.calls

    again: Payment = await driver.handle(VoidPayment(payment_id=payment.id, idempotency_key="v2"))

    assert again == first
    assert driver.gateway.calls == calls


@pytest.mark.parametrize(
    ("token", "status"),
    [("tok_decline", PaymentStatus.DECLINED), ("tok_error", PaymentStatus.FAILED)],
)
async def test_voiding_a_payment_that_holds_nothing_changes_nothing(
    driver: ShopDriver, token: str, status: PaymentStatus
) -> None:
    payment_id = await never_authorized(driver, token)

    calls = driver.gateway.calls

    after: Payment = await driver.handle(VoidPayment(payment_id=payment_id, idempotency_key="v"))

    assert after.status is status
    assert len(after.transactions) == 1
    assert driver.gateway.calls == calls


async def test_a_captured_payment_cannot_be_voided(driver: ShopDriver) -> None:
    payment = await captured(driver)

    with pytest.raises(IllegalTransition):
        await driver.handle(VoidPayment(payment_id=payment.id, idempotency_key="v"))

    assert (await stored(driver, payment.id)).status is PaymentStatus.CAPTURED


async def test_a_void_the_gateway_refuses_is_logged_and_raised(driver: ShopDriver) -> None:
    payment = await authorized(driver)
    await driver.gateway.capture(reference(payment), eur(5000), "by hand")

    with pytest.raises(PaymentDeclined, match="refused to void"):
        await driver.handle(VoidPayment(payment_id=payment.id, idempotency_key="v"))

    after = await stored(driver, payment.id)
    assert after.status is PaymentStatus.AUTHORIZED
    assert last(after) == (TransactionKind.VOID, False, "v")


# -- refund -------------------------------------------------------------------------------


async def test_a_partial_refund(driver: ShopDriver) -> None:
    payment = await captured(driver, 5000)

    after = await refund(driver, payment, 1500, "r1")

    assert after.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (after.refunded, after.refundable) == (eur(1500), eur(3500))
    assert last(after) == (TransactionKind.REFUND, True, "r1")
    assert driver.gateway.refunded_total == 1500
    events = [e for e in driver.store.outbox if isinstance(e, PaymentRefunded)]
    assert [(e.payment_id, e.amount) for e in events] == [(payment.id, eur(1500))]


async def test_partial_refunds_add_up_to_a_full_one(driver: ShopDriver) -> None:
    payment = await captured(driver, 5000)

    await refund(driver, payment, 1000, "r1")
    middle = await refund(driver, payment, 1000, "r2")
    after = await refund(driver, payment, 3000, "r3")

    assert middle.status is PaymentStatus.PARTIALLY_REFUNDED
    assert after.status is PaymentStatus.REFUNDED
    assert (after.refunded, after.refundable) == (eur(5000), eur(0))
    assert driver.gateway.refunded_total == 5000


async def test_a_refund_key_goes_through_once(driver: ShopDriver) -> None:
    payment = await captured(driver)
    first = await refund(driver, payment, 1000, "r1")
    calls = driver.gateway.calls

    again = await refund(driver, payment, 1000, "r1")

    assert again == first
    assert driver.gateway.calls == calls
    assert driver.gateway.refunded_total == 1000


@pytest.mark.parametrize(("amount", "why"), [(5001, "over"), (0, "zero"), (-1, "negative")])
async def test_a_refund_must_be_positive_and_within_what_was_captured(
    driver: ShopDriver, amount: int, why: str
) -> None:
    payment = await captured(driver, 5000)

    with pytest.raises(InvalidInput, match="at most 5000"):
        await refund(driver, payment, amount, why)

    assert driver.gateway.refunded_total == 0
    assert (await stored(driver, payment.id)).status is PaymentStatus.CAPTURED


async def test_a_refund_in_another_currency_is_refused(driver: ShopDriver) -> None:
    payment = await captured(driver, 5000)

    with pytest.raises(InvalidInput):
        await driver.handle(
            RefundPayment(payment_id=payment.id, amount=Money(100, "USD"), idempotency_key="r")
        )

    assert driver.gateway.refunded_total == 0


async def test_an_uncaptured_payment_has_nothing_to_refund(driver: ShopDriver) -> None:
    payment = await authorized(driver)

    with pytest.raises(InvalidInput, match="at most 0"):
        await refund(driver, payment, 100, "r")


async def test_a_refund_the_gateway_refuses_is_logged_and_raised(driver: ShopDriver) -> None:
    payment = await captured(driver, 5000)
    await driver.gateway.refund(reference(payment), eur(5000), "by hand")

    with pytest.raises(PaymentDeclined, match="refused to refund"):
        await refund(driver, payment, 100, "r")

    after = await stored(driver, payment.id)
    assert (after.status, after.refunded) == (PaymentStatus.CAPTURED, eur(0))
    assert last(after) == (TransactionKind.REFUND, False, "r")


@pytest.mark.parametrize(
    "command",
    [
        CapturePayment(payment_id="missing", idempotency_key="k"),
        VoidPayment(payment_id="missing", idempotency_key="k"),
        RefundPayment(payment_id="missing", amount=eur(1), idempotency_key="k"),
    ],
    ids=["capture", "void", "refund"],
)
async def test_an_unknown_payment_is_not_found(
    driver: ShopDriver, command: CapturePayment | VoidPayment | RefundPayment
) -> None:
    with pytest.raises(NotFound) as caught:
        await driver.handle(command)

    assert caught.value.code == "not-found"
    assert driver.gateway.calls == 0
