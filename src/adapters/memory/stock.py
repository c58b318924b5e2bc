"""The in-memory stock ledger.

One asyncio lock stands in for the row locks a database takes: the first change a unit of
work makes acquires it and commit or rollback releases it, so changes from concurrent units
never interleave, and rollback can restore exactly what was there before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from shopcore.inventory.ports import Move
from shopcore.shared.errors import AlreadyExists, InsufficientStock, NotFound, OutOfStock


@dataclass
class StockState:
    # sku -> location -> (on_hand, allocated); `reserved` is derived from live reservations.
    levels: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    active: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    movements: dict[str, list[StockMovement]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class MemoryStockLedger:
    def __init__(self, state: StockState) -> None:
        self._state = state
        self._undo: list[Callable[[], None]] = []
        self._locked = False

    # -- reads -----------------------------------------------------------------------------
    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        return [
            self._level(sku, location, now)
            for sku in sorted(set(skus))
            for location in sorted(self._state.levels.get(sku, {}))
        ]

    def sole_locations(self, skus: Sequence[str]) -> dict[str, str]:
        found = {sku: self._state.levels.get(sku, {}) for sku in skus}
        return {sku: next(iter(kept)) for sku, kept in found.items() if len(kept) == 1}

    async def reservation(self, reservation_id: str) -> Reservation | None:
        return self._state.reservations.get(reservation_id)

    async def movements(self, sku: str) -> list[StockMovement]:
        return list(self._state.movements.get(sku, []))

    # -- changes ---------------------------------------------------------------------------
    async def receive(self, movement: StockMovement) -> None:
        await self._lock()
        on_hand, allocated = self._row(movement.sku, movement.location)
        self._set(movement.sku, movement.location, on_hand + movement.delta, allocated)
        self._log(movement)

    async def adjust(self, movement: StockMovement, now: datetime) -> None:
        await self._lock()
        if not self._level(movement.sku, movement.location, now).can_adjust(movement.delta):
            raise InsufficientStock(
                f"{movement.sku} at {movement.location} cannot go below what is promised"
            )
        on_hand, allocated = self._row(movement.sku, movement.location)
        self._set(movement.sku, movement.location, on_hand + movement.delta, allocated)
        self._log(movement)

    async def reserve(self, reservation: Reservation, now: datetime) -> None:
        await self._lock()
        if reservation.id in self._state.reservations:
            raise AlreadyExists(f"reservation {reservation.id} already exists")
        if short := self._short(reservation, now):
            raise OutOfStock(short)
        self._put(reservation)

    async def release(self, reservation_id: str, now: datetime) -> Move:
        await self._lock()
        reservation = self._get(reservation_id)
        if reservation.status is ReservationStatus.ACTIVE:
            return Move(self._put(reservation.moved_to(ReservationStatus.RELEASED)), moved=True)
        if reservation.status is ReservationStatus.ALLOCATED:
            for line in reservation.lines:
                self._shift(line.sku, line.location, on_hand=0, allocated=-line.quantity)
            return Move(self._put(reservation.moved_to(ReservationStatus.DEALLOCATED)), moved=True)
        if reservation.status is ReservationStatus.SHIPPED:
            reservation.moved_to(ReservationStatus.RELEASED)  # raises IllegalTransition
        return Move(reservation, moved=False)

    async def allocate(self, reservation_id: str, now: datetime) -> Move:
        await self._lock()
        reservation = self._get(reservation_id)
        if reservation.status is ReservationStatus.ALLOCATED:
            return Move(reservation, moved=False)
        allocated = reservation.moved_to(ReservationStatus.ALLOCATED)
        lapsed = not reservation.holds_stock(now)  # active but expired, or swept
        if lapsed and (short := self._short(reservation, now)):
            raise OutOfStock(short)
        self._put(allocated)  # stops counting as reserved ...
        for line in reservation.lines:  # ... and counts as allocated instead
            self._shift(line.sku, line.location, on_hand=0, allocated=line.quantity)
        return Move(allocated, moved=True, available_changed=lapsed)

    async def ship(self, reservation_id: str, movement_at: datetime) -> Move:
        await self._lock()
        reservation = self._get(reservation_id)
        if reservation.status is ReservationStatus.SHIPPED:
            return Move(reservation, moved=False)
        shipped = reservation.moved_to(ReservationStatus.SHIPPED)
        for line in reservation.lines:
            self._shift(line.sku, line.location, on_hand=-line.quantity, allocated=-line.quantity)
            self._log(
                StockMovement(
                    sku=line.sku,
                    location=line.location,
                    kind=MovementKind.SHIPPED,
                    delta=-line.quantity,
                    reason=f"shipped for {reservation_id}",
                    at=movement_at,
                )
            )
        return Move(self._put(shipped), moved=True)

    async def expire(self, now: datetime, limit: int) -> list[Reservation]:
        await self._lock()
        due = sorted(
            (r for r in self._state.reservations.values() if r.is_expired(now)),
            key=lambda r: (r.expires_at, r.id),
        )[:limit]
        return [self._put(r.moved_to(ReservationStatus.EXPIRED)) for r in due]

    # -- unit of work ----------------------------------------------------------------------
    def finish(self, *, commit: bool) -> None:
        if not commit:
            for undo in reversed(self._undo):
                undo()
        self._undo.clear()
        if self._locked:
            self._locked = False
            self._state.lock.release()

    # -- internals -------------------------------------------------------------------------
    async def _lock(self) -> None:
        if not self._locked:
            await self._state.lock.acquire()
            self._locked = True

    def _row(self, sku: str, location: str) -> tuple[int, int]:
        return self._state.levels.get(sku, {}).get(location, (0, 0))

    def _reserved(self, sku: str, location: str, now: datetime) -> int:
        reservations = self._state.reservations
        return sum(
            line.quantity
            for reservation_id in self._state.active.get((sku, location), ())
            if reservations[reservation_id].holds_stock(now)
            for line in reservations[reservation_id].lines
            if line.sku == sku and line.location == location
        )

    def _level(self, sku: str, location: str, now: datetime) -> StockLevel:
        on_hand, allocated = self._row(sku, location)
        reserved = self._reserved(sku, location, now)
        return StockLevel(
            sku=sku, location=location, on_hand=on_hand, reserved=reserved, allocated=allocated
        )

    def _short(self, reservation: Reservation, now: datetime) -> list[str]:
        """SKUs whose lines do not fit in the stock available at `now`."""
        wanted: dict[tuple[str, str], int] = {}
        for line in reservation.lines:
            key = (line.sku, line.location)
            wanted[key] = wanted.get(key, 0) + line.quantity
        return [
            sku
            for (sku, location), quantity in sorted(wanted.items())
            if location not in self._state.levels.get(sku, {})
            or not self._level(sku, location, now).can_reserve(quantity)
        ]

    def _set(self, sku: str, location: str, on_hand: int, allocated: int) -> None:
        locations = self._state.levels.setdefault(sku, {})
        previous = locations.get(location)
        locations[location] = (on_hand, allocated)

        def undo() -> None:
            if previous is None:
                del locations[location]
            else:
                locations[location] = previous

        self._undo.append(undo)

    def _shift(self, sku: str, location: str, *, on_hand: int, allocated: int) -> None:
        current_on_hand, current_allocated = self._row(sku, location)
        self._set(sku, location, current_on_hand + on_hand, current_allocated + allocated)

    def _log(self, movement: StockMovement) -> None:
        trail = self._state.movements.setdefault(movement.sku, [])
        trail.append(movement)
        self._undo.append(lambda: trail.remove(movement))

    def _get(self, reservation_id: str) -> Reservation:
        reservation = self._state.reservations.get(reservation_id)
        if reservation is None:
            raise NotFound(f"reservation {reservation_id} not found")
        return reservation

    def _put(self, reservation: Reservation) -> Reservation:
        previous = self._state.reservations.get(reservation.id)
        self._state.reservations[reservation.id] = reservation
        self._index(reservation, active=reservation.status is ReservationStatus.ACTIVE)

        def undo() -> None:
            if previous is None:
                del self._state.reservations[reservation.id]
                self._index(reservation, active=False)
            else:
                self._state.reservations[reservation.id] = previous
                self._index(previous, active=previous.status is ReservationStatus.ACTIVE)

        self._undo.append(undo)
        return reservation

    def _index(self, reservation: Reservation, *, active: bool) -> None:
        for line in reservation.lines:
            ids = self._state.active.setdefault((line.sku, line.location), set())
            if active:
                ids.add(reservation.id)
            else:
                ids.discard(reservation.id)
