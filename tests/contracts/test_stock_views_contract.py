"""What every stock read side (`StockViews`) must do: show the levels the ledger holds, as the
ledger's own `levels` reads them, without a unit of work. Every ledger suite checks this too,
wherever it reads levels (ledger_steps.levels); these cases name the rules on their own."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import StockLevel
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.ledger_steps import allocated_reservation, receive, reserve


async def test_levels_per_location_sorted_with_unknown_skus_absent(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 5, now)
    await receive(backend, "TEE-M", 3, now, "berlin")
    await receive(backend, "CAP-1", 2, now)
    views = backend.stock_views()

    assert await views.levels(["TEE-M", "NOPE-1", "CAP-1", "TEE-M"], now) == [
        StockLevel(sku="CAP-1", location="main", on_hand=2, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="berlin", on_hand=3, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="main", on_hand=5, reserved=0, allocated=0),
    ]
    assert await views.levels(["NOPE-1"], now) == []
    assert await views.levels([], now) == []


async def test_held_and_allocated_units_show_until_a_hold_lapses(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    await allocated_reservation(backend, clock, [("TEE-M", 2)])
    views = backend.stock_views()

    (held,) = await views.levels(["TEE-M"], clock.now())
    (lapsed,) = await views.levels(["TEE-M"], clock.now() + b.HOLD * 2)

    assert (held.on_hand, held.reserved, held.allocated, held.available) == (10, 3, 2, 5)
    assert (lapsed.reserved, lapsed.available) == (0, 8)  # no sweep ran: the read leaves it out


async def test_a_committed_change_shows_at_once(backend: Backend, clock: ManualClock) -> None:
    views = backend.stock_views()
    assert await views.levels(["TEE-M"], clock.now()) == []

    await receive(backend, "TEE-M", 4, clock.now())

    assert await views.levels(["TEE-M"], clock.now()) == [
        StockLevel(sku="TEE-M", location="main", on_hand=4, reserved=0, allocated=0)
    ]
