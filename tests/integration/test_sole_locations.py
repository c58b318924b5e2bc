"""Reserving where a SKU is kept without reading its levels first (StockLedger.sole_locations),
when another process added a location meanwhile: the reservation still finds the stock there,
and a SKU truly short is still refused. Two engines on one database are the two processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.engine import create_engine
from adapters.db.stock import learn_sole_locations, sole_locations_of
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.memory.clock import ManualClock
from shopcore.inventory.commands import ReserveStock
from shopcore.inventory.handlers import reserve_stock
from shopcore.shared.errors import OutOfStock
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.support.databases import empty_postgres, fresh_sqlite


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def two_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    if request.param == "sqlite":
        mine = await fresh_sqlite(tmp_path)
        url = mine.url.render_as_string(hide_password=False)
    else:
        url = request.getfixturevalue("postgres_url")
        mine = await empty_postgres(url, pool_size=2)
    theirs = create_engine(url, pool_size=2)
    yield mine, theirs
    await theirs.dispose()
    await mine.dispose()


def _uow(engine: AsyncEngine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, now=lambda: datetime.now(UTC))


async def _receive(engine: AsyncEngine, sku: str, quantity: int, location: str) -> None:
    async with _uow(engine) as uow:
        await uow.stock.receive(b.movement(sku, quantity, at=b.START, location=location))
        await uow.commit()


async def _reserve(engine: AsyncEngine, clock: ManualClock, sku: str, quantity: int) -> str:
    command = ReserveStock(reservation_id=new_id(), lines=((sku, quantity),))
    reservation = await reserve_stock(command, _uow(engine), clock)
    (line,) = reservation.lines
    return line.location


async def test_a_location_another_process_added_is_found_by_the_next_reservation(
    two_processes: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, theirs = two_processes
    clock = ManualClock(b.START)
    await _receive(mine, "TEE-M", 2, "main")
    assert await _reserve(mine, clock, "TEE-M", 2) == "main"
    assert sole_locations_of(mine.sync_engine)["TEE-M"] == "main"  # learned: no read next

    await _receive(theirs, "TEE-M", 5, "berlin")  # unknown to this process

    assert await _reserve(mine, clock, "TEE-M", 3) == "berlin"
    assert "TEE-M" not in sole_locations_of(mine.sync_engine)  # kept at two now
    with pytest.raises(OutOfStock) as short:
        await _reserve(mine, clock, "TEE-M", 3)
    assert short.value.skus == ("TEE-M",)


async def test_an_api_process_learns_at_start_where_each_sku_is_kept(
    two_processes: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, theirs = two_processes
    await _receive(theirs, "TEE-M", 2, "main")
    await _receive(theirs, "CAP-1", 2, "main")
    await _receive(theirs, "CAP-1", 2, "berlin")

    assert await learn_sole_locations(mine) == 1

    assert sole_locations_of(mine.sync_engine) == {"TEE-M": "main"}
