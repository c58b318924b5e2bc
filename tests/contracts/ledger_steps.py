"""Steps on the stock ledger shared by the StockLedger and unit-of-work suites. A change
(receive, reserve, an allocated reservation) commits a unit of its own and a look (levels, a
stored reservation, the trail, a snapshot) reads in a fresh one, so a test sees only what was
committed, as the next request would; `adjustment` is the stocktake movement adjust takes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write


async def receive(
    backend: Backend, sku: str, quantity: int, at: datetime, location: str = "main"
) -> StockMovement:
    movement = b.movement(sku, quantity, at=at, location=location)
    await write(backend, lambda uow: uow.stock.receive(movement))
    return movement


async def reserve(backend: Backend, reservation: Reservation, now: datetime) -> Reservation:
    await write(backend, lambda uow: uow.stock.reserve(reservation, now))
    return reservation


async def levels(backend: Backend, skus: Sequence[str], now: datetime) -> list[StockLevel]:
    """The ledger's levels, which the read side (`StockViews`) must show too: every suite that
    reads levels this way checks the backend's StockViews against its ledger as well."""
    found = await read(backend, lambda uow: uow.stock.levels(skus, now))
    assert await backend.stock_views().levels(skus, now) == found
    return found


async def level(backend: Backend, sku: str, now: datetime) -> tuple[int, int, int, int]:
    """(on_hand, reserved, allocated, available) of a SKU kept at one location."""
    found = await levels(backend, [sku], now)
    assert len(found) == 1
    (one,) = found
    return one.on_hand, one.reserved, one.allocated, one.available


async def stored(backend: Backend, reservation_id: str) -> Reservation | None:
    return await read(backend, lambda uow: uow.stock.reservation(reservation_id))


async def status_of(backend: Backend, reservation_id: str) -> ReservationStatus:
    found = await stored(backend, reservation_id)
    assert found is not None
    return found.status


async def trail(backend: Backend, sku: str) -> list[StockMovement]:
    return await read(backend, lambda uow: uow.stock.movements(sku))


async def allocated_reservation(
    backend: Backend, clock: ManualClock, lines: Sequence[tuple[str, int]]
) -> Reservation:
    held = await reserve(backend, b.reservation(lines, now=clock.now()), clock.now())
    await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))
    return held


def adjustment(sku: str, delta: int, at: datetime) -> StockMovement:
    return b.movement(sku, delta, at=at, kind=MovementKind.ADJUSTED, reason="stocktake")


async def stock_snapshot(backend: Backend, sku: str, clock: ManualClock) -> tuple[Any, ...]:
    async with backend.uow() as uow:
        return (
            await uow.stock.levels([sku], clock.now()),
            await uow.stock.movements(sku),
        )
