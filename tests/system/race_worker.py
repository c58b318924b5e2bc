"""One OS process of a checkout race: its own shop, engine and pool over the shared database.

Run by test_postgres_race.py through a spawn-context process pool; everything crossing the
process boundary is plain data.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from adapters.memory.clock import SystemClock
from apps.settings import Settings
from shopcore import ExpireReservations, ReserveStock
from shopcore.inventory.commands import AllocateReservation
from shopcore.shared.errors import ShopError
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, build_driver

Outcome = dict[str, Any]


def _driver(url: str) -> ShopDriver:
    # A real clock: expiry must mean the same moment in every process.
    return build_driver(Settings(database_url=url, database_pool_size=3), clock=SystemClock())


def _outcome(result: object) -> Outcome:
    if isinstance(result, ShopError):
        return {"error": result.code, "detail": result.detail}
    if isinstance(result, BaseException):
        return {"error": f"unexpected {type(result).__name__}", "detail": repr(result)}
    return {"ok": True}


def checkout_race(url: str, process: int, carts: list[list[tuple[str, int]]], barrier: Any) -> dict:
    """Prepare one customer and cart per entry of `carts` (lines in the given order), wait for
    every process, then check them all out at once."""
    return asyncio.run(_checkout_race(url, process, carts, barrier))


async def _checkout_race(
    url: str, process: int, carts: list[list[tuple[str, int]]], barrier: Any
) -> dict:
    driver = _driver(url)
    try:
        buyers = []
        for index, lines in enumerate(carts):
            customer = await driver.customer(email=f"racer-{process}-{index}@example.com")
            cart = await driver.cart(customer, dict(lines))
            buyers.append((customer, cart, lines))
        await asyncio.to_thread(barrier.wait)
        results = await asyncio.gather(
            *(driver.checkout(customer, cart) for customer, cart, _ in buyers),
            return_exceptions=True,
        )
        outcomes = []
        for (_, _, lines), result in zip(buyers, results, strict=True):
            outcome = _outcome(result)
            if outcome.get("ok"):
                outcome["status"] = str(getattr(result, "status", ""))
                outcome["lines"] = lines
            outcomes.append(outcome)
        live_charges = sum(1 for charge in driver.gateway.charges.values() if not charge.voided)
        return {"outcomes": outcomes, "live_charges": live_charges}
    finally:
        await driver.close()


def expiry_race(url: str, process: int, sku: str, tasks: int, barrier: Any) -> dict:
    return asyncio.run(_expiry_race(url, process, sku, tasks, barrier))


async def _expiry_race(url: str, process: int, sku: str, tasks: int, barrier: Any) -> dict:
    """Each task holds 2 units for one second. After they lapse, half the tasks try to commit
    their lapsed reservation while the other half reserve afresh and a sweeper runs: the
    lapsed stock may go to either side, never to both."""
    driver = _driver(url)
    rng = random.Random(process)
    try:
        await asyncio.to_thread(barrier.wait)
        ids = [new_id() for _ in range(tasks)]
        first = await asyncio.gather(
            *(
                driver.handle(ReserveStock(reservation_id=rid, lines=((sku, 2),), ttl_seconds=1))
                for rid in ids
            ),
            return_exceptions=True,
        )
        held = [
            rid
            for rid, result in zip(ids, first, strict=True)
            if not isinstance(result, BaseException)
        ]
        await asyncio.sleep(1.3)
        await asyncio.to_thread(barrier.wait)
        late = held[: len(held) // 2]
        fresh = [new_id() for _ in range(tasks - len(late))]
        jobs: list[Any] = [driver.handle(AllocateReservation(reservation_id=rid)) for rid in late]
        jobs += [
            driver.handle(ReserveStock(reservation_id=rid, lines=((sku, 2),), ttl_seconds=600))
            for rid in fresh
        ]
        jobs += [driver.handle(ExpireReservations(limit=rng.randint(1, 20))) for _ in range(5)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        late_results = results[: len(late)]
        fresh_results = results[len(late) : len(late) + len(fresh)]
        sweeps = results[len(late) + len(fresh) :]
        return {
            "first": Counter(_outcome(r).get("error", "ok") for r in first),
            "allocated": sum(1 for r in late_results if not isinstance(r, BaseException)),
            "late": [_outcome(r) for r in late_results],
            "reserved": sum(1 for r in fresh_results if not isinstance(r, BaseException)),
            "fresh": [_outcome(r) for r in fresh_results],
            "sweeps": [_outcome(r) for r in sweeps if isinstance(r, BaseException)],
        }
    finally:
        await driver.close()
