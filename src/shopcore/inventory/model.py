"""Stock per SKU and location, reservations and the movement ledger.

    available = on_hand - reserved - allocated >= 0, always.

`reserved` counts only active reservations that have not expired, so a reservation stops holding
stock the moment it expires, before any sweeper runs. Stock changes are not load-modify-save:
the `StockLedger` port applies each one as a single conditional change (a conditional UPDATE in
SQL), which is what keeps any number of processes from selling the same unit twice. This module
holds the rules those changes obey; the ledger adapters apply them and the contract suite checks
every adapter against them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from shopcore.shared.errors import IllegalTransition

DEFAULT_LOCATION = "main"
MAX_QUANTITY = 1_000_000


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    location: str
    on_hand: int
    reserved: int
    allocated: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.allocated

    def can_reserve(self, quantity: int) -> bool:
        return self.available >= quantity

    def can_adjust(self, delta: int) -> bool:
        return self.on_hand + delta >= self.reserved + self.allocated


class ReservationStatus(StrEnum):
    ACTIVE = "active"  # holds stock until it expires
    RELEASED = "released"  # given back before allocation (declined payment, cancellation)
    EXPIRED = "expired"  # swept after its expiry
    ALLOCATED = "allocated"  # committed to a paid order; waits for shipping
    DEALLOCATED = "deallocated"  # an allocated order was cancelled before shipping
    SHIPPED = "shipped"  # left the warehouse: on hand and allocated both went down


RESERVATION_TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.ACTIVE: frozenset(
        {ReservationStatus.RELEASED, ReservationStatus.EXPIRED, ReservationStatus.ALLOCATED}
    ),
    ReservationStatus.ALLOCATED: frozenset(
        {ReservationStatus.DEALLOCATED, ReservationStatus.SHIPPED}
    ),
    ReservationStatus.RELEASED: frozenset(),
    # A swept reservation may still be committed if its stock is available again, so that
    # whether the sweeper ran first never changes a checkout's outcome.
    ReservationStatus.EXPIRED: frozenset({ReservationStatus.ALLOCATED}),
    ReservationStatus.DEALLOCATED: frozenset(),
    ReservationStatus.SHIPPED: frozenset(),
}


class ReservationLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    location: str
    quantity: int


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lines: tuple[ReservationLine, ...]
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime

    def holds_stock(self, now: datetime) -> bool:
        """Whether this reservation counts in `reserved` at `now`."""
        return self.status is ReservationStatus.ACTIVE and self.expires_at > now

    def is_expired(self, now: datetime) -> bool:
        return self.status is ReservationStatus.ACTIVE and self.expires_at <= now

    def moved_to(self, status: ReservationStatus) -> Reservation:
        if status not in RESERVATION_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"reservation {self.id} cannot go from {self.status} to {status}"
            )
        return msgspec.structs.replace(self, status=status)

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(sorted({line.sku for line in self.lines}))


class MovementKind(StrEnum):
    RECEIVED = "received"
    ADJUSTED = "adjusted"
    SHIPPED = "shipped"


class StockMovement(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the audit trail: every change to on-hand stock, with its reason."""

    sku: str
    location: str
    kind: MovementKind
    delta: int
    reason: str
    at: datetime
