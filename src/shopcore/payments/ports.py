"""The payment gateway port and the payment repository."""

from __future__ import annotations

from typing import Protocol

import msgspec

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.payments.model import Payment
from shopcore.shared.money import Money


class GatewayResponse(msgspec.Struct, frozen=True, kw_only=True):
    approved: bool
    reference: str | None
    message: str


class PaymentGateway(Protocol):
    """A card processor. Every call carries an idempotency key: the same key returns the first
    call's answer, so a retry after a timeout can never charge twice. An outage raises
    PaymentGatewayUnavailable; a refusal is a response with approved=False."""

    async def authorize(
        self, amount: Money, token: str, idempotency_key: str
    ) -> GatewayResponse: ...

    async def capture(
        self, reference: str, amount: Money, idempotency_key: str
    ) -> GatewayResponse: ...

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse: ...

    async def refund(
        self, reference: str, amount: Money, idempotency_key: str
    ) -> GatewayResponse: ...

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        """The answer the gateway gave to a call with this key, or None if it never had one
        (how a shop that died waiting for an answer learns what happened). Raises
        PaymentGatewayUnavailable when it cannot say."""
        ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...

    async def get(self, payment_id: str) -> Payment | None: ...

    async def for_order(self, order_id: str) -> list[Payment]: ...


class PaymentsUnitOfWork(UnitOfWork, Protocol):
    @property
    def payments(self) -> PaymentRepository: ...
