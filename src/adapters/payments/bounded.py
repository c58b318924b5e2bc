"""Every gateway call ends within the shop's gateway timeout, answered or not.

The checkout starts no authorization later than its deadline less this timeout
(shopcore/ordering/checkout.py), so by the deadline no call of its is still in flight: the
recovery job, which only looks at an order once its deadline has passed, then asks a gateway
whose answer can no longer change under it. Without a bound, recovery could find no
authorization and fail the order, and a late approval would then hold the customer's money
for an order nobody fills.

The core may not run loop machinery (asyncio), so the bound is this adapter, which the
composition root puts around every gateway (apps/components.py) with the very timeout it
hands the core (`Ports.gateway_timeout`).

A call cut off is PaymentGatewayUnavailable, as an outage is: the checkout then ends the order
and voids whatever the gateway did hold (its idempotency key finds it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from shopcore.payments.ports import GatewayResponse, PaymentGateway
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.money import Money

T = TypeVar("T")


@dataclass(frozen=True)
class BoundedGateway:
    gateway: PaymentGateway
    timeout: timedelta

    async def _within(self, call: Awaitable[T], what: str) -> T:
        seconds = self.timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                return await call
        except TimeoutError:
            raise PaymentGatewayUnavailable(
                f"the payment gateway did not answer the {what} within {seconds:g} s"
            ) from None

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        return await self._within(
            self.gateway.authorize(amount, token, idempotency_key), "authorization"
        )

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await self._within(
            self.gateway.capture(reference, amount, idempotency_key), "capture"
        )

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        return await self._within(self.gateway.void(reference, idempotency_key), "void")

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await self._within(self.gateway.refund(reference, amount, idempotency_key), "refund")

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        return await self._within(self.gateway.lookup(idempotency_key), "lookup")
