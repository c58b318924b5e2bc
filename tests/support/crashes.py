"""A process killed at a chosen instant, made deterministic.

`Crash` is a BaseException: no `except Exception` in the shop catches it, so nothing the
process would have done next happens, as with SIGKILL. A `CrashPlan` counts the shop's commits
and its gateway answers and raises `Crash` right after the one it is told to, so a test can
stop a checkout at each of its step boundaries in turn: every step is one commit, or one call
to the gateway whose answer the shop never got to write down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.payments.simulated import SimulatedGateway
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import Busy
from shopcore.shared.money import Money


class Crash(BaseException):
    """The process died here."""


def killed(what: str) -> BaseException:
    return Crash(f"killed after {what}")


def database_failed(what: str) -> BaseException:
    """The process lives on, but its database failed for good after `what` (every retry
    used up): the error the shop sees is Busy."""
    return Busy(f"the database failed after {what}")


@dataclass
class CrashPlan:
    """Fail after boundary number `at` (1-based; 0: never), with `fault` (a kill, or the
    database failing). A boundary is a commit or a gateway answer; `seen` lists them as they
    pass, for a test to know how many there are."""

    at: int = 0
    armed: bool = False
    seen: list[str] = field(default_factory=list)
    fault: Callable[[str], BaseException] = killed

    def passed(self, what: str) -> None:
        if not self.armed:
            return
        self.seen.append(what)
        if len(self.seen) == self.at:
            self.armed = False  # the restarted process runs without the plan
            raise self.fault(f"{what} (boundary {self.at})")


class CrashingUnitOfWork(MemoryUnitOfWork):
    def __init__(self, store: MemoryStore, plan: CrashPlan) -> None:
        super().__init__(store)
        self._plan = plan

    async def commit(self) -> None:
        await super().commit()
        self._plan.passed("a commit")


@dataclass
class CrashingGateway(SimulatedGateway):
    """The gateway did what it was asked; the shop died before it heard the answer. Or, with
    `die_asking`, the shop died while asking: the gateway never saw the call."""

    plan: CrashPlan = field(default_factory=CrashPlan)
    die_asking: bool = False

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        if self.die_asking:
            self.die_asking = False
            raise Crash("killed while asking the gateway")
        response = await super().authorize(amount, token, idempotency_key)
        self.plan.passed("the gateway's authorization")
        return response

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        response = await super().capture(reference, amount, idempotency_key)
        self.plan.passed("the gateway's capture")
        return response

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        response = await super().void(reference, idempotency_key)
        self.plan.passed("the gateway's void")
        return response
