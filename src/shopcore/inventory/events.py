"""Facts about stock; storefronts stream StockChanged to show availability live."""

from __future__ import annotations

from datetime import datetime

from shopcore.shared.messages import Event


class StockChanged(Event, frozen=True, kw_only=True):
    """The new totals of one SKU over all its locations, after any change to what is on hand
    or available. Allocating a hold that still holds (a paid checkout) changes neither: its
    units move from reserved to allocated, and the next announcement carries the new split."""

    sku: str
    on_hand: int
    reserved: int
    allocated: int
    available: int
    reason: str
    # When the change was made; None only in events written before the field existed.
    at: datetime | None = None


class ReservationExpired(Event, frozen=True, kw_only=True):
    """A hold on stock outlived its time and was released by the sweep."""

    reservation_id: str
