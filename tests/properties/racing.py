"""A shop whose adapters give way to the event loop, so concurrent requests really interleave.

The memory adapters never suspend on their own, so `asyncio.gather` over them would run one
request after another. Here the gateway yields before answering (a network round trip) and
the unit of work yields before it commits (a database round trip), a random number of times
drawn from a seeded generator, so every interleaving is reproducible from its seed. The commit
itself stays atomic: only the wait before it is added.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.payments.simulated import SimulatedGateway
from apps.settings import Settings
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.money import Money
from tests.support.driver import ShopDriver, build_driver

Step = Callable[[], Awaitable[None]]


async def give_way(rng: random.Random, most: int = 3) -> None:
    for _ in range(rng.randint(0, most)):
        await asyncio.sleep(0)


@dataclass
class YieldingGateway(SimulatedGateway):
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    # operation name -> one step to run before the next such call answers (then forgotten)
    meanwhile: dict[str, Step] = field(default_factory=dict)

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        await self._before("authorize")
        return await super().authorize(amount, token, idempotency_key)

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        await self._before("capture")
        return await super().capture(reference, amount, idempotency_key)

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        await self._before("void")
        return await super().void(reference, idempotency_key)

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        await self._before("refund")
        return await super().refund(reference, amount, idempotency_key)

    async def _before(self, operation: str) -> None:
        step = self.meanwhile.pop(operation, None)
        if step is not None:
            await step()
        await give_way(self.rng)


class YieldingUnitOfWork(MemoryUnitOfWork):
    def __init__(self, store: MemoryStore, rng: random.Random) -> None:
        super().__init__(store)
        self._rng = rng

    async def commit(self) -> None:
        await give_way(self._rng)
        await super().commit()


def racing_driver(seed: int = 0) -> tuple[ShopDriver, YieldingGateway]:
    """Like `build_driver`, but every adapter round trip may let other requests run first."""
    rng = random.Random(seed)
    gateway = YieldingGateway(rng=rng)
    store = MemoryStore()
    driver = build_driver(
        Settings(),
        gateway=gateway,
        store=store,
        unit_of_work=lambda: YieldingUnitOfWork(store=store, rng=rng),
    )
    return driver, gateway
