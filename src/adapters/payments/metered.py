"""The payment gateway's latency, for Prometheus: a decorator around any `PaymentGateway`.

Each call is timed and counted by operation (`authorize`, `capture`, `void`, `refund`,
`lookup`) and outcome: `ok` (approved, or for `lookup` an answer found or not), `declined` (the
gateway said no), `timeout` (the call ran out of time: a `TimeoutError`, raised as such or as
the cause of the `PaymentGatewayUnavailable` an adapter raises for it), `error` (anything else
raised: the gateway is away). A checkout's slowest outside call, seen per operation: when
checkouts slow down, this tells the gateway from the database.

It sits between the core and whichever gateway adapter the composition root picks, so the
core imports no metrics library and every adapter is measured the same way.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Histogram

from shopcore.payments.ports import GatewayResponse, PaymentGateway
from shopcore.shared.money import Money

GATEWAY_CALLS = Histogram(
    "shopcore_payment_gateway_seconds",
    "Calls to the payment gateway, by operation and outcome (ok, declined, timeout, error)",
    ["operation", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

T = TypeVar("T", GatewayResponse, GatewayResponse | None)


def outcome_of(answer: GatewayResponse | None) -> str:
    return "declined" if answer is not None and not answer.approved else "ok"


def failure_of(error: Exception) -> str:
    timed_out = isinstance(error, TimeoutError) or isinstance(error.__cause__, TimeoutError)
    return "timeout" if timed_out else "error"


class MeteredGateway:
    """`gateway`, with each call observed in `shopcore_payment_gateway_seconds`."""

    def __init__(self, gateway: PaymentGateway) -> None:
        self.inner = gateway

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        return await _timed(
            "authorize", lambda: self.inner.authorize(amount, token, idempotency_key)
        )

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await _timed(
            "capture", lambda: self.inner.capture(reference, amount, idempotency_key)
        )

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        return await _timed("void", lambda: self.inner.void(reference, idempotency_key))

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await _timed("refund", lambda: self.inner.refund(reference, amount, idempotency_key))

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        return await _timed("lookup", lambda: self.inner.lookup(idempotency_key))


async def _timed(operation: str, call: Callable[[], Awaitable[T]]) -> T:
    started = time.perf_counter()
    try:
        answer = await call()
    except Exception as error:  # not a cancellation: the caller gave up, not the gateway
        GATEWAY_CALLS.labels(operation, failure_of(error)).observe(time.perf_counter() - started)
        raise
    GATEWAY_CALLS.labels(operation, outcome_of(answer)).observe(time.perf_counter() - started)
    return answer
