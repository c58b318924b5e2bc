"""The simulated gateway with a script: something else happens while a call is in flight (the
clock moves, another customer buys, staff cancel), or the gateway refuses one kind of call.

The shop never holds a transaction open while it waits for the gateway, so these are exactly
the interleavings a real deployment sees between two requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters.payments.simulated import SimulatedGateway
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.money import Money
from tests.support.driver import ShopDriver, build_driver

Step = Callable[[], Awaitable[None]]


@dataclass
class ScriptedGateway(SimulatedGateway):
    # operation name -> one step to run before the next such call answers (then forgotten)
    meanwhile: dict[str, Step] = field(default_factory=dict)
    # operation names the gateway refuses, as a bank would (approved=False, no exception)
    refusing: set[str] = field(default_factory=set)
    # yield to the event loop before answering, so concurrent callers interleave
    slow: bool = False

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        await self._before("authorize")
        return await super().authorize(amount, token, idempotency_key)

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        await self._before("capture")
        if "capture" in self.refusing:
            return _refused(reference)
        return await super().capture(reference, amount, idempotency_key)

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        await self._before("void")
        if "void" in self.refusing:
            return _refused(reference)
        return await super().void(reference, idempotency_key)

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        await self._before("refund")
        if "refund" in self.refusing:
            return _refused(reference)
        return await super().refund(reference, amount, idempotency_key)

    async def _before(self, operation: str) -> None:
        step = self.meanwhile.pop(operation, None)
        if step is not None:
            await step()
        if self.slow:
            await asyncio.sleep(0)


def _refused(reference: str) -> GatewayResponse:
    return GatewayResponse(approved=False, reference=reference, message="refused by the bank")


def scripted_driver() -> tuple[ShopDriver, ScriptedGateway]:
    gateway = ScriptedGateway()
    driver = build_driver(gateway=gateway)
    driver.gateway = gateway
    return driver, gateway
