"""A simulated card gateway with Stripe-like test tokens and idempotency keys.

    tok_visa     approves       tok_decline  declines      tok_error  fails as an outage

It keeps its own ledger of every authorization, so tests can check the shop's books against
what the "bank" saw, and it replays the first answer for a repeated idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money

APPROVE = "tok_visa"
DECLINE = "tok_decline"
OUTAGE = "tok_error"


@dataclass
class Charge:
    amount: Money
    captured: int = 0
    refunded: int = 0
    voided: bool = False


@dataclass
class SimulatedGateway:
    charges: dict[str, Charge] = field(default_factory=dict)
    _answers: dict[str, GatewayResponse] = field(default_factory=dict)
    calls: int = 0

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        if token == OUTAGE:
            raise PaymentGatewayUnavailable("the simulated gateway is down (tok_error)")
        return self._once(idempotency_key, lambda: self._authorize(amount, token))

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return self._once(idempotency_key, lambda: self._capture(reference, amount))

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        return self._once(idempotency_key, lambda: self._void(reference))

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return self._once(idempotency_key, lambda: self._refund(reference, amount))

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        return self._answers.get(idempotency_key)

    def reset(self) -> None:
        """Forget every charge and answer, as a new test bank: tests that share one app
        start each case with an empty ledger."""
        self.charges.clear()
        self._answers.clear()
        self.calls = 0

    def _once(self, key: str, call: Callable[[], GatewayResponse]) -> GatewayResponse:
        if key not in self._answers:
            self.calls += 1
            self._answers[key] = call()
        return self._answers[key]

    def _authorize(self, amount: Money, token: str) -> GatewayResponse:
        if token != APPROVE:
            return GatewayResponse(approved=False, reference=None, message="card declined")
        reference = f"ch_{new_id()}"
        self.charges[reference] = Charge(amount=amount)
        return GatewayResponse(approved=True, reference=reference, message="approved")

    def _capture(self, reference: str, amount: Money) -> GatewayResponse:
        charge = self.charges.get(reference)
        if charge is None or charge.voided or charge.captured or amount > charge.amount:
            return GatewayResponse(approved=False, reference=reference, message="cannot capture")
        charge.captured = amount.amount
        return GatewayResponse(approved=True, reference=reference, message="captured")

    def _void(self, reference: str) -> GatewayResponse:
        charge = self.charges.get(reference)
        if charge is None or charge.captured:
            return GatewayResponse(approved=False, reference=reference, message="cannot void")
        charge.voided = True
        return GatewayResponse(approved=True, reference=reference, message="voided")

    def _refund(self, reference: str, amount: Money) -> GatewayResponse:
        charge = self.charges.get(reference)
        if (
            charge is None
            or amount.amount <= 0
            or charge.refunded + amount.amount > charge.captured
        ):
            return GatewayResponse(approved=False, reference=reference, message="cannot refund")
        charge.refunded += amount.amount
        return GatewayResponse(approved=True, reference=reference, message="refunded")

    @property
    def captured_total(self) -> int:
        return sum(charge.captured for charge in self.charges.values())

    @property
    def refunded_total(self) -> int:
        return sum(charge.refunded for charge in self.charges.values())
