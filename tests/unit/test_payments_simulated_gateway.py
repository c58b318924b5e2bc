"""The simulated card gateway: test tokens, a ledger per charge, replayed answers per key."""

from __future__ import annotations

import pytest

from adapters.payments.simulated import SimulatedGateway
from shopcore import PaymentGatewayUnavailable
from shopcore.payments.ports import GatewayResponse
from tests.support.driver import eur


async def charge(gateway: SimulatedGateway, amount: int = 5000, key: str = "auth") -> str:
    answer = await gateway.authorize(eur(amount), "tok_visa", key)
    assert answer.approved
    assert answer.reference is not None
    return answer.reference


async def test_tok_visa_approves_and_opens_a_charge() -> None:
    gateway = SimulatedGateway()

    answer = await gateway.authorize(eur(5000), "tok_visa", "k")

    assert (answer.approved, answer.message) == (True, "approved")
    assert answer.reference is not None
    assert answer.reference.startswith("ch_")
    opened = gateway.charges[answer.reference]
    assert (opened.amount, opened.captured, opened.refunded, opened.voided) == (
        eur(5000),
        0,
        0,
        False,
    )


@pytest.mark.parametrize("token", ["tok_decline", "tok_unknown"])
async def test_any_other_token_is_declined_without_a_charge(token: str) -> None:
    gateway = SimulatedGateway()

    answer = await gateway.authorize(eur(5000), token, "k")

    assert answer == GatewayResponse(approved=False, reference=None, message="card declined")
    assert gateway.charges == {}


async def test_tok_error_is_an_outage_and_no_answer_is_kept() -> None:
    gateway = SimulatedGateway()

    for _ in range(2):
        with pytest.raises(PaymentGatewayUnavailable):
            await gateway.authorize(eur(5000), "tok_error", "k")

    assert gateway.calls == 0
    # The key is still free: a retry after the outage gets a real answer.
    assert (await gateway.authorize(eur(5000), "tok_visa", "k")).approved


async def test_a_repeated_key_replays_the_first_answer() -> None:
    gateway = SimulatedGateway()

    first = await gateway.authorize(eur(5000), "tok_visa", "k")
    again = await gateway.authorize(eur(9999), "tok_decline", "k")

    assert again == first
    assert gateway.calls == 1
    assert len(gateway.charges) == 1


async def test_a_repeated_capture_key_captures_once() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)

    first = await gateway.capture(reference, eur(5000), "cap")
    again = await gateway.capture(reference, eur(5000), "cap")
    other_key = await gateway.capture(reference, eur(5000), "cap-2")

    assert first == again
    assert first.approved
    assert (other_key.approved, other_key.message) == (False, "cannot capture")
    assert gateway.captured_total == 5000


async def test_a_capture_may_be_for_less_but_not_more_than_authorized() -> None:
    gateway = SimulatedGateway()
    more = await charge(gateway, 5000, "a1")
    less = await charge(gateway, 5000, "a2")

    refused = await gateway.capture(more, eur(5001), "c1")
    partial = await gateway.capture(less, eur(4000), "c2")

    assert refused.approved is False
    assert partial.approved is True
    assert gateway.captured_total == 4000


async def test_a_voided_charge_cannot_be_captured() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)

    voided = await gateway.void(reference, "v")
    capture = await gateway.capture(reference, eur(5000), "c")

    assert (voided.approved, voided.message) == (True, "voided")
    assert gateway.charges[reference].voided
    assert capture.approved is False
    assert gateway.captured_total == 0


async def test_a_captured_charge_cannot_be_voided() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)
    await gateway.capture(reference, eur(5000), "c")

    answer = await gateway.void(reference, "v")

    assert (answer.approved, answer.message) == (False, "cannot void")
    assert not gateway.charges[reference].voided


async def test_refunds_add_up_to_at_most_the_captured_amount() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)
    await gateway.capture(reference, eur(5000), "c")

    first = await gateway.refund(reference, eur(3000), "r1")
    replay = await gateway.refund(reference, eur(3000), "r1")
    too_much = await gateway.refund(reference, eur(2001), "r2")
    rest = await gateway.refund(reference, eur(2000), "r3")

    assert first == replay
    assert [first.approved, too_much.approved, rest.approved] == [True, False, True]
    assert gateway.charges[reference].refunded == 5000
    assert gateway.refunded_total == 5000


async def test_an_uncaptured_charge_cannot_be_refunded() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)

    answer = await gateway.refund(reference, eur(1), "r")

    assert (answer.approved, answer.message) == (False, "cannot refund")


async def test_a_non_positive_refund_is_refused() -> None:
    gateway = SimulatedGateway()
    reference = await charge(gateway)
    await gateway.capture(reference, eur(5000), "c")

    answer = await gateway.refund(reference, eur(0), "r")

    assert answer.approved is False
    assert gateway.refunded_total == 0


@pytest.mark.parametrize("operation", ["capture", "void", "refund"])
async def test_an_unknown_charge_is_refused(operation: str) -> None:
    gateway = SimulatedGateway()

    if operation == "capture":
        answer = await gateway.capture("ch_missing", eur(1), "k")
    elif operation == "void":
        answer = await gateway.void("ch_missing", "k")
    else:
        answer = await gateway.refund("ch_missing", eur(1), "k")

    assert answer == GatewayResponse(
        approved=False, reference="ch_missing", message=f"cannot {operation}"
    )


async def test_totals_sum_over_every_charge() -> None:
    gateway = SimulatedGateway()
    first = await charge(gateway, 5000, "a1")
    second = await charge(gateway, 3000, "a2")
    await charge(gateway, 7000, "a3")  # authorized only: counts in neither total
    await gateway.capture(first, eur(5000), "c1")
    await gateway.capture(second, eur(3000), "c2")
    await gateway.refund(first, eur(1000), "r1")
    await gateway.refund(second, eur(3000), "r2")

    assert gateway.captured_total == 8000
    assert gateway.refunded_total == 4000
