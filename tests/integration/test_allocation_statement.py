"""On PostgreSQL a checkout's allocation is one statement: the reservation's compare-and-set
and its stock's move from reserved to allocated (stock_postgres.allocate_and_take). What it
does is the StockLedger contract's (tests/contracts); this says how many statements it takes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import ReservationStatus
from tests.contracts import builders as b
from tests.contracts.backends import SqlBackend
from tests.contracts.ledger_steps import level, receive, reserve, status_of
from tests.support.databases import empty_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sql(postgres_url: str) -> AsyncIterator[SqlBackend]:
    engine: AsyncEngine = await empty_postgres(postgres_url, pool_size=2)
    yield SqlBackend("postgres", engine)
    await engine.dispose()


async def test_allocating_an_active_reservation_is_one_statement(sql: SqlBackend) -> None:
    clock = ManualClock(b.START)
    await receive(sql, "TEE-M", 10, clock.now())
    await receive(sql, "CAP-1", 5, clock.now())
    held = await reserve(
        sql, b.reservation([("TEE-M", 3), ("CAP-1", 2)], now=clock.now()), clock.now()
    )
    sent: list[str] = []

    def logged(query: Any) -> None:
        sent.append(" ".join(query.query.split()))

    def watch(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(sql.engine.sync_engine, "checkout", watch)
    try:
        async with sql.uow() as uow:
            move = await uow.stock.allocate(held.id, clock.now())
            await asyncio.sleep(0)  # the query logger reports with call_soon
            during = [text for text in sent if text not in ("BEGIN", "COMMIT")]
            await uow.commit()
    finally:
        event.remove(sql.engine.sync_engine, "checkout", watch)

    assert move.moved and move.reservation == held.moved_to(ReservationStatus.ALLOCATED)
    assert not move.available_changed  # a hold that still held: nothing new to announce
    assert len(during) == 1, during
    assert "UPDATE reservations" in during[0] and "UPDATE stock_levels" in during[0]
    assert await status_of(sql, held.id) is ReservationStatus.ALLOCATED
    assert await level(sql, "TEE-M", clock.now()) == (10, 0, 3, 7)
    assert await level(sql, "CAP-1", clock.now()) == (5, 0, 2, 3)
