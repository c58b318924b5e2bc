"""Requests to change stock."""

from __future__ import annotations

from shopcore.inventory.model import DEFAULT_LOCATION, Reservation
from shopcore.shared.messages import Command

RESERVATION_TTL_SECONDS = 15 * 60


class ReceiveStock(Command[None], frozen=True, kw_only=True):
    """Add delivered units to on hand at a location (created if new); the reason is kept."""

    sku: str
    quantity: int
    location: str = DEFAULT_LOCATION
    reason: str = "received"


class AdjustStock(Command[None], frozen=True, kw_only=True):
    """A correction (count, damage, loss): `delta` may be negative; the reason is kept."""

    sku: str
    delta: int
    reason: str
    location: str = DEFAULT_LOCATION


class ReserveStock(Command[Reservation], frozen=True, kw_only=True):
    """Hold every line or none of them until the reservation expires."""

    reservation_id: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    ttl_seconds: int = RESERVATION_TTL_SECONDS


class ReleaseReservation(Command[Reservation], frozen=True, kw_only=True):
    """Give the stock back, whether merely reserved or already allocated."""

    reservation_id: str


class AllocateReservation(Command[Reservation], frozen=True, kw_only=True):
    """Commit a reservation to a paid order; fails with OutOfStock if it expired and the stock
    has gone meanwhile (the shortfall after authorization)."""

    reservation_id: str


class ShipReservation(Command[Reservation], frozen=True, kw_only=True):
    """Send an allocated reservation's units out: on hand and allocated both fall by each line;
    shipping it again changes nothing."""

    reservation_id: str


class ExpireReservations(Command[int], frozen=True, kw_only=True):
    """Mark up to `limit` reservations past their expiry as expired (the sweep the worker runs);
    returns how many."""

    limit: int = 500
