"""The stock ledger: each method is one atomic, conditional change (see model.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.inventory.model import Reservation, StockLevel, StockMovement


@dataclass(frozen=True)
class Move:
    """A reservation as a ledger step left it, and whether that step moved it. A step that
    finds the reservation where it would take it changes nothing (a retry, the recovery job
    finishing what a request did), and nothing is announced.

    `available_changed`: whether the step changed how much of any of its SKUs is available.
    Allocating a hold that still holds does not: its units only move from reserved to
    allocated, so the storefronts have nothing to hear. Allocating one that lapsed does: its
    units counted as available again, and are taken from there."""

    reservation: Reservation
    moved: bool
    available_changed: bool = True


class StockLedger(Protocol):
    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        """Every location of each SKU, sorted by (sku, location); unknown SKUs are absent."""
        ...

    def sole_locations(self, skus: Sequence[str]) -> dict[str, str]:
        """Of `skus`, those this ledger knows to be kept at one location only, with that
        location, from what it last saw, without reading anything. It may omit any SKU, and
        a location added since its last look may be missing (another process added it):
        a reservation made from this answer is checked by `reserve` all the same."""
        ...

    async def receive(self, movement: StockMovement) -> None:
        """Add `movement.delta` (> 0) to on hand, creating the level if needed; record it."""
        ...

    async def adjust(self, movement: StockMovement, now: datetime) -> None:
        """Add `movement.delta` to on hand and record it, unless that leaves less than is
        reserved and allocated: then InsufficientStock, and nothing changes."""
        ...

    async def reserve(self, reservation: Reservation, now: datetime) -> None:
        """Store an active reservation, holding all its lines or none: OutOfStock names every
        short SKU. Lines are applied in (sku, location) order so writers cannot deadlock.
        AlreadyExists if the id is taken, no later than the unit's commit (a ledger may
        write the reservation's rows with it); the unit sees the reservation meanwhile."""
        ...

    async def reservation(self, reservation_id: str) -> Reservation | None: ...

    async def release(self, reservation_id: str, now: datetime) -> Move:
        """active -> released, allocated -> deallocated; already given back: unchanged.
        NotFound, or IllegalTransition once shipped."""
        ...

    async def allocate(self, reservation_id: str, now: datetime) -> Move:
        """active -> allocated. A lapsed one (expired, swept or not) is allocated only if its
        stock is available again (else OutOfStock); already allocated: unchanged. NotFound,
        IllegalTransition from released, deallocated or shipped."""
        ...

    async def ship(self, reservation_id: str, movement_at: datetime) -> Move:
        """allocated -> shipped: on hand and allocated both fall by each line's quantity, and a
        shipped movement is recorded per line. Already shipped: unchanged."""
        ...

    async def expire(self, now: datetime, limit: int) -> list[Reservation]:
        """Mark up to `limit` active reservations whose expiry has passed as expired."""
        ...

    async def movements(self, sku: str) -> list[StockMovement]:
        """The audit trail of a SKU, oldest first."""
        ...


class StockViews(Protocol):
    """The stock as the storefront reads it: levels read as they are stored now, each call on
    its own (no unit of work: a read changes nothing, so nothing is tracked)."""

    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        """What `StockLedger.levels` answers: every location of each SKU, sorted by (sku,
        location), unknown SKUs absent, `reserved` without the holds that lapsed by `now`."""
        ...


class InventoryUnitOfWork(UnitOfWork, Protocol):
    @property
    def stock(self) -> StockLedger: ...
