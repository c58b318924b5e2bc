"""The payment gateway's calls are timed by operation and outcome, whatever the adapter; an
answer or an error passes through unchanged."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from adapters.payments.metered import MeteredGateway
from adapters.payments.simulated import SimulatedGateway
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.money import Money


def calls(operation: str, outcome: str) -> float:
    labels = {"operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("shopcore_payment_gateway_seconds_count", labels) or 0.0


class _Silent(SimulatedGateway):
    """A gateway that never answers in time, as an adapter with a deadline reports it."""

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        try:
            raise TimeoutError("no answer within 10 s")
        except TimeoutError as error:
            raise PaymentGatewayUnavailable("the gateway did not answer") from error

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        raise TimeoutError


async def test_each_call_is_counted_by_operation_and_outcome() -> None:
    gateway = MeteredGateway(SimulatedGateway())
    before = {
        key: calls(*key)
        for key in [("authorize", "ok"), ("authorize", "declined"), ("authorize", "error")]
    }
    approved = await gateway.authorize(Money(500, "EUR"), "tok_visa", "k1")
    declined = await gateway.authorize(Money(500, "EUR"), "tok_decline", "k2")
    with pytest.raises(PaymentGatewayUnavailable):
        await gateway.authorize(Money(500, "EUR"), "tok_error", "k3")

    assert approved.approved and not declined.approved
    assert {key: calls(*key) - count for key, count in before.items()} == {
        ("authorize", "ok"): 1,
        ("authorize", "declined"): 1,
        ("authorize", "error"): 1,
    }


async def test_a_call_that_ran_out_of_time_is_a_timeout_not_an_error() -> None:
    gateway = MeteredGateway(_Silent())
    before = calls("capture", "timeout"), calls("void", "timeout"), calls("capture", "error")

    with pytest.raises(PaymentGatewayUnavailable):
        await gateway.capture("ch_1", Money(500, "EUR"), "k4")
    with pytest.raises(TimeoutError):
        await gateway.void("ch_1", "k5")

    after = calls("capture", "timeout"), calls("void", "timeout"), calls("capture", "error")
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 0]


async def test_a_lookup_without_an_answer_is_ok() -> None:
    gateway = MeteredGateway(SimulatedGateway())
    before = calls("lookup", "ok")

    assert await gateway.lookup("never-used") is None

    assert calls("lookup", "ok") == before + 1
