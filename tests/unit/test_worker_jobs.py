"""The worker's own jobs and checks, without Redis: the periodic sweep of expired
reservations, a part that fails being started again instead of stopping the worker, and what
it refuses to start with."""

from __future__ import annotations

import asyncio

import pytest

from apps.jobs import every, expire_reservations
from apps.settings import Settings
from apps.worker import WorkerError, require_messaging, run_supervised, select_groups
from shopcore.inventory.commands import ReserveStock
from tests.support.driver import build_driver


async def test_a_periodic_job_runs_at_once_then_on_its_interval_and_survives_failures() -> None:
    runs: list[int] = []
    stop = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("a bad moment")
        if len(runs) == 4:
            stop.set()

    await asyncio.wait_for(every(0.01, job, stop), timeout=2)

    assert runs == [0, 1, 2, 3]


async def test_a_failing_part_is_started_again_while_the_others_keep_running() -> None:
    starts = 0
    ticks = 0
    stop = asyncio.Event()

    async def flaky() -> None:  # Redis gone at start-up, twice
        nonlocal starts
        starts += 1
        if starts < 3:
            raise ConnectionError("Redis is not there yet")
        await asyncio.sleep(0.05)
        stop.set()

    async def steady() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run_supervised([flaky, steady], stop, pause=0.01), timeout=5)

    assert starts == 3
    assert ticks > 1


async def test_the_sweep_expires_the_lapsed_reservations() -> None:
    driver = build_driver()
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    for n in range(3):
        await driver.handle(
            ReserveStock(reservation_id=f"r{n}", lines=(("TEE-M", 1),), ttl_seconds=60)
        )
    driver.clock.advance(seconds=61)

    await expire_reservations(driver.shop)

    assert sorted(driver.store.stock.reservations) == ["r0", "r1", "r2"]
    assert all(r.status.value == "expired" for r in driver.store.stock.reservations.values())


def test_the_worker_needs_a_database_and_redis() -> None:
    with pytest.raises(WorkerError):
        require_messaging(Settings(redis_url="redis://x"))
    with pytest.raises(WorkerError):
        require_messaging(Settings(database_url="sqlite+aiosqlite:///x.db"))
    assert require_messaging(
        Settings(database_url="sqlite+aiosqlite:///x.db", redis_url="redis://x")
    ) == ("sqlite+aiosqlite:///x.db", "redis://x")


def test_groups_are_chosen_by_name() -> None:
    shop = build_driver().shop
    assert [g.name for g in select_groups(shop, ())] == ["catalog-cache", "notifications"]
    assert [g.name for g in select_groups(shop, ("notifications",))] == ["notifications"]
    with pytest.raises(WorkerError, match="unknown handler group mail"):
        select_groups(shop, ("mail",))
