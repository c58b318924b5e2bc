"""What every PaymentGateway must do (shopcore.payments.ports): refusals are answers, outages
are errors, and an idempotency key replays its first answer so a retry never moves money twice,
however many processes send it at the same moment, and after a restart.

The simulated gateway runs it over each backend's books: memory, SQLite and PostgreSQL. A
gateway of another kind joins with its own test tokens; only what the port shows is checked,
besides the bank's books (`Backend.charges`) where "one effect" needs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from adapters.payments.simulated import APPROVE, DECLINE, OUTAGE
from shopcore.payments.ports import GatewayResponse, PaymentGateway
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money
from tests.contracts.backends import Backend


@dataclass(frozen=True)
class GatewayCase:
    build: Callable[[], PaymentGateway]  # another gateway object over the same books
    approve: str
    decline: str
    outage: str


AMOUNT = Money(4999, "EUR")
PROCESSES = 5


@pytest.fixture
def case(backend: Backend) -> GatewayCase:
    return GatewayCase(backend.gateway, APPROVE, DECLINE, OUTAGE)


@pytest.fixture
def gateway(case: GatewayCase) -> PaymentGateway:
    return case.build()


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


async def authorized(gateway: PaymentGateway, case: GatewayCase, amount: Money = AMOUNT) -> str:
    response = await gateway.authorize(amount, case.approve, f"{new_id()}:authorize")
    assert response.approved
    assert response.reference
    return response.reference


async def captured(gateway: PaymentGateway, case: GatewayCase, amount: Money = AMOUNT) -> str:
    reference = await authorized(gateway, case, amount)
    response = await gateway.capture(reference, amount, f"capture-{reference}")
    assert response.approved
    return reference


# -- authorize -------------------------------------------------------------------------------
async def test_an_approved_authorization_carries_a_reference(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    response = await gateway.authorize(AMOUNT, case.approve, "order-1:authorize")

    assert response.approved is True
    assert isinstance(response.reference, str)
    assert response.reference


async def test_a_declined_card_is_an_answer_not_an_error(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    response = await gateway.authorize(AMOUNT, case.decline, "order-1:authorize")

    assert response.approved is False
    assert response.message


async def test_an_outage_raises_gateway_unavailable(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    with pytest.raises(PaymentGatewayUnavailable) as caught:
        await gateway.authorize(AMOUNT, case.outage, "order-1:authorize")

    assert caught.value.code == "payment-gateway-unavailable"


async def test_authorizing_again_with_one_key_replays_the_first_answer(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    first = await gateway.authorize(AMOUNT, case.approve, "order-1:authorize")
    again = await gateway.authorize(AMOUNT, case.approve, "order-1:authorize")
    other = await gateway.authorize(AMOUNT, case.approve, "order-2:authorize")

    assert again == first
    assert other.approved
    assert other.reference != first.reference  # a new key is a new charge


async def test_a_replayed_decline_stays_a_decline(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    first = await gateway.authorize(AMOUNT, case.decline, "order-1:authorize")
    again = await gateway.authorize(AMOUNT, case.decline, "order-1:authorize")

    assert again == first
    assert again.approved is False


# -- lookup: what a shop that died waiting for an answer asks ---------------------------------
async def test_lookup_tells_the_answer_given_under_a_key(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    approved = await gateway.authorize(AMOUNT, case.approve, "order-1:authorize")
    declined = await gateway.authorize(AMOUNT, case.decline, "order-2:authorize")

    assert await gateway.lookup("order-1:authorize") == approved
    assert await gateway.lookup("order-2:authorize") == declined


async def test_lookup_of_a_key_never_answered_is_none(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    with pytest.raises(PaymentGatewayUnavailable):
        await gateway.authorize(AMOUNT, case.outage, "order-1:authorize")

    assert await gateway.lookup("order-1:authorize") is None  # an outage is not an answer
    assert await gateway.lookup("order-9:authorize") is None


async def test_lookup_after_a_restart_still_knows_the_answer(durable_backend: Backend) -> None:
    first = durable_backend.gateway()
    approved = await first.authorize(AMOUNT, APPROVE, "order-1:authorize")

    assert await durable_backend.gateway().lookup("order-1:authorize") == approved


# -- capture ---------------------------------------------------------------------------------
async def test_capture_of_an_authorization_is_approved(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await authorized(gateway, case)

    response = await gateway.capture(reference, AMOUNT, "order-1:capture")

    assert response.approved is True
    assert response.reference == reference


async def test_a_retried_capture_replays_its_answer_and_charges_once(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await authorized(gateway, case)

    first = await gateway.capture(reference, AMOUNT, "order-1:capture")
    again = await gateway.capture(reference, AMOUNT, "order-1:capture")
    second_charge = await gateway.capture(reference, AMOUNT, "order-1:capture-2")

    assert first.approved
    assert again == first
    assert second_charge.approved is False
    # Exactly the amount was captured: all of it can be refunded, and not a cent more.
    assert (await gateway.refund(reference, AMOUNT + eur(1), "refund-too-much")).approved is False
    assert (await gateway.refund(reference, AMOUNT, "refund-all")).approved is True


async def test_capture_above_the_authorized_amount_is_refused(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await authorized(gateway, case)

    too_much = await gateway.capture(reference, AMOUNT + eur(1), "order-1:capture")
    right = await gateway.capture(reference, AMOUNT, "order-1:capture-retry")

    assert too_much.approved is False
    assert right.approved is True  # a refusal held nothing back


async def test_capture_of_an_unknown_reference_is_refused(gateway: PaymentGateway) -> None:
    response = await gateway.capture("ch_unknown", AMOUNT, "order-1:capture")

    assert response.approved is False


async def test_capture_after_void_is_refused(gateway: PaymentGateway, case: GatewayCase) -> None:
    reference = await authorized(gateway, case)
    assert (await gateway.void(reference, "order-1:void")).approved

    response = await gateway.capture(reference, AMOUNT, "order-1:capture")

    assert response.approved is False
    assert (await gateway.refund(reference, eur(1), "order-1:refund")).approved is False


# -- void ------------------------------------------------------------------------------------
async def test_void_of_an_authorization_is_approved_and_replays(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await authorized(gateway, case)

    first = await gateway.void(reference, "order-1:void")
    again = await gateway.void(reference, "order-1:void")

    assert first.approved is True
    assert again == first


async def test_void_after_capture_is_refused(gateway: PaymentGateway, case: GatewayCase) -> None:
    reference = await captured(gateway, case)

    response = await gateway.void(reference, "order-1:void")

    assert response.approved is False
    assert (await gateway.refund(reference, AMOUNT, "order-1:refund")).approved is True


async def test_void_of_an_unknown_reference_is_refused(gateway: PaymentGateway) -> None:
    assert (await gateway.void("ch_unknown", "order-1:void")).approved is False


# -- refund ----------------------------------------------------------------------------------
async def test_refund_before_capture_is_refused(gateway: PaymentGateway, case: GatewayCase) -> None:
    reference = await authorized(gateway, case)

    response = await gateway.refund(reference, eur(100), "order-1:refund")

    assert response.approved is False


async def test_refunds_add_up_to_at_most_what_was_captured(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await captured(gateway, case)

    answers = [
        await gateway.refund(reference, eur(2000), "refund-1"),
        await gateway.refund(reference, eur(2999), "refund-2"),
        await gateway.refund(reference, eur(1), "refund-3"),
    ]

    assert [answer.approved for answer in answers] == [True, True, False]


async def test_a_refund_above_what_was_captured_is_refused(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await captured(gateway, case)

    too_much = await gateway.refund(reference, AMOUNT + eur(1), "refund-1")
    all_of_it = await gateway.refund(reference, AMOUNT, "refund-2")

    assert too_much.approved is False
    assert all_of_it.approved is True


@pytest.mark.parametrize("amount", [0, -100])
async def test_a_refund_of_nothing_or_less_is_refused(
    gateway: PaymentGateway, case: GatewayCase, amount: int
) -> None:
    reference = await captured(gateway, case)

    assert (await gateway.refund(reference, eur(amount), "refund-1")).approved is False
    assert (await gateway.refund(reference, AMOUNT, "refund-2")).approved is True


async def test_a_retried_refund_replays_its_answer_and_pays_back_once(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await captured(gateway, case)

    first = await gateway.refund(reference, eur(3000), "refund-1")
    again = await gateway.refund(reference, eur(3000), "refund-1")
    rest = await gateway.refund(reference, eur(1999), "refund-2")
    beyond = await gateway.refund(reference, eur(1), "refund-3")

    assert first.approved
    assert again == first
    assert rest.approved is True  # the replay did not use up the room
    assert beyond.approved is False


async def test_a_refused_call_replays_as_refused(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await captured(gateway, case)
    refused = await gateway.refund(reference, AMOUNT + eur(1), "refund-1")

    again: GatewayResponse = await gateway.refund(reference, AMOUNT + eur(1), "refund-1")

    assert again == refused
    assert again.approved is False


# -- money in another currency ---------------------------------------------------------------
async def test_a_capture_in_another_currency_is_refused(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await authorized(gateway, case)

    other = await gateway.capture(reference, Money(AMOUNT.amount, "USD"), "order-1:capture")
    right = await gateway.capture(reference, AMOUNT, "order-1:capture-retry")

    assert other.approved is False
    assert right.approved is True


async def test_a_refund_in_another_currency_is_refused(
    gateway: PaymentGateway, case: GatewayCase
) -> None:
    reference = await captured(gateway, case)

    other = await gateway.refund(reference, Money(100, "USD"), "refund-1")

    assert other.approved is False
    assert (await gateway.refund(reference, AMOUNT, "refund-2")).approved is True


# -- at the same moment ----------------------------------------------------------------------
# Each call goes through a gateway object of its own: on SQL each takes a connection of its
# own, so to the database they are as many processes.
async def test_simultaneous_authorizations_with_one_key_open_one_charge(
    backend: Backend, case: GatewayCase
) -> None:
    answers = await asyncio.gather(
        *(
            case.build().authorize(AMOUNT, case.approve, "order-1:authorize")
            for _ in range(PROCESSES)
        )
    )

    assert answers[0].approved
    assert set(answers) == {answers[0]}
    assert list(await backend.charges()) == [answers[0].reference]


async def test_simultaneous_refunds_with_one_key_pay_back_once(
    backend: Backend, case: GatewayCase
) -> None:
    reference = await captured(case.build(), case)

    answers = await asyncio.gather(
        *(case.build().refund(reference, eur(2000), "refund-1") for _ in range(PROCESSES))
    )

    assert answers[0].approved
    assert set(answers) == {answers[0]}
    assert (await backend.charges())[reference].refunded == 2000
    # The room left is exactly what one refund left.
    assert (await case.build().refund(reference, eur(2999), "refund-2")).approved is True
    assert (await case.build().refund(reference, eur(1), "refund-3")).approved is False


async def test_two_processes_capturing_one_charge_with_their_own_keys_capture_it_once(
    backend: Backend, case: GatewayCase
) -> None:
    reference = await authorized(case.build(), case)

    answers = await asyncio.gather(
        *(case.build().capture(reference, AMOUNT, f"process-{n}:capture") for n in range(PROCESSES))
    )

    assert sorted(answer.approved for answer in answers) == [False] * (PROCESSES - 1) + [True]
    assert (await backend.charges())[reference].captured == AMOUNT.amount


async def test_a_void_racing_a_capture_lets_exactly_one_of_them_through(
    backend: Backend, case: GatewayCase
) -> None:
    reference = await authorized(case.build(), case)

    capture, void = await asyncio.gather(
        case.build().capture(reference, AMOUNT, "order-1:capture"),
        case.build().void(reference, "order-1:void"),
    )

    assert capture.approved != void.approved
    charge = (await backend.charges())[reference]
    assert (charge.captured, charge.voided) == (
        (AMOUNT.amount, False) if capture.approved else (0, True)
    )


# -- across processes and restarts (backends whose books outlive the gateway object) ----------
async def test_a_key_replayed_after_a_restart_returns_the_first_answer(
    durable_backend: Backend,
) -> None:
    before = durable_backend.gateway()
    authorization = await before.authorize(AMOUNT, APPROVE, "order-1:authorize")
    assert authorization.reference is not None
    capture = await before.capture(authorization.reference, AMOUNT, "order-1:capture")

    after = durable_backend.gateway()  # the process restarted: a new gateway, the same books

    assert await after.authorize(AMOUNT, APPROVE, "order-1:authorize") == authorization
    assert await after.capture(authorization.reference, AMOUNT, "order-1:capture") == capture
    assert list(await durable_backend.charges()) == [authorization.reference]


async def test_a_refused_answer_survives_a_restart_too(durable_backend: Backend) -> None:
    declined = await durable_backend.gateway().authorize(AMOUNT, DECLINE, "order-1:authorize")

    again = await durable_backend.gateway().authorize(AMOUNT, APPROVE, "order-1:authorize")

    assert again == declined
    assert again.approved is False
    assert await durable_backend.charges() == {}


async def test_a_charge_authorized_in_one_process_is_captured_and_refunded_in_another(
    durable_backend: Backend,
) -> None:
    api, worker = durable_backend.gateway(), durable_backend.gateway()
    authorization = await api.authorize(AMOUNT, APPROVE, "order-1:authorize")
    assert authorization.reference is not None

    capture = await worker.capture(authorization.reference, AMOUNT, "order-1:capture")
    refund = await api.refund(authorization.reference, eur(1000), "order-1:refund")
    void = await worker.void(authorization.reference, "order-1:void")

    assert (capture.approved, refund.approved, void.approved) == (True, True, False)
    charge = (await durable_backend.charges())[authorization.reference]
    assert (charge.amount, charge.captured, charge.refunded) == (AMOUNT, 4999, 1000)
