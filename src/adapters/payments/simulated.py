"""A simulated card gateway in one process's memory, with Stripe-like test tokens and
idempotency keys (the rules: simulated_bank.py).

It keeps its own ledger of every authorization, so tests can check the shop's books against
what the "bank" saw (`charges`, `captured_total`, `refunded_total`), and it replays the first
answer for a repeated idempotency key. Its books end with the process: the in-memory shop and
the tests use it; a shop on a database uses the SQL one
(adapters/db/simulated_gateway.py), whose books every API process shares and which survive a
restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.payments import simulated_bank as bank
from adapters.payments.simulated_bank import APPROVE, DECLINE, OUTAGE, Charge
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.money import Money

__all__ = ["APPROVE", "DECLINE", "OUTAGE", "Charge", "SimulatedGateway"]


@dataclass
class SimulatedGateway:
    charges: dict[str, Charge] = field(default_factory=dict)
    _answers: dict[str, GatewayResponse] = field(default_factory=dict)
    calls: int = 0  # calls that were answered for the first time (replays are not counted)

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        bank.check_up(token)
        return self._once(idempotency_key, lambda: self._authorize(amount, token))

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return self._once(
            idempotency_key, lambda: bank.capture(reference, self.charges.get(reference), amount)
        )

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        return self._once(
            idempotency_key, lambda: bank.void(reference, self.charges.get(reference))
        )

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return self._once(
            idempotency_key, lambda: bank.refund(reference, self.charges.get(reference), amount)
        )

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        return self._answers.get(idempotency_key)

    def reset(self) -> None:
        """Forget every charge and answer, as a new test bank: tests that share one app
        start each case with an empty ledger."""
        self.charges.clear()
        self._answers.clear()
        self.calls = 0

    def _once(self, key: str, call: Callable[[], GatewayResponse]) -> GatewayResponse:
        # No await between the look-up and the store: one event loop answers a key once.
        if key not in self._answers:
            self.calls += 1
            self._answers[key] = call()
        return self._answers[key]

    def _authorize(self, amount: Money, token: str) -> GatewayResponse:
        reference, charge, response = bank.authorize(amount, token)
        if reference is not None and charge is not None:
            self.charges[reference] = charge
        return response

    @property
    def captured_total(self) -> int:
        return sum(charge.captured for charge in self.charges.values())

    @property
    def refunded_total(self) -> int:
        return sum(charge.refunded for charge in self.charges.values())
