"""What every StockLedger must do with the stock on hand: report it per SKU and location,
receive and adjust it, and keep every movement, oldest first, as the audit trail; each change
is one atomic, conditional step that keeps

    available = on_hand - reserved - allocated >= 0

for any number of concurrent units of work (see shopcore.inventory.model and .ports).
Reservations, expiry, fulfilment and concurrency have suites of their own beside this one."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import MovementKind, StockLevel
from shopcore.shared.errors import InsufficientStock
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import write
from tests.contracts.ledger_steps import (
    adjustment,
    allocated_reservation,
    level,
    levels,
    receive,
    reserve,
    trail,
)


# -- levels ----------------------------------------------------------------------------------
async def test_levels_are_sorted_by_sku_and_location_and_unknown_skus_are_absent(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    for sku, location, quantity in [
        ("TEE-M", "main", 5),
        ("CAP-1", "main", 2),
        ("TEE-M", "berlin", 3),
        ("MUG-1", "main", 1),
    ]:
        await receive(backend, sku, quantity, now, location)

    found = await levels(backend, ["TEE-M", "NOPE-1", "CAP-1", "TEE-M"], now)

    assert found == [
        StockLevel(sku="CAP-1", location="main", on_hand=2, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="berlin", on_hand=3, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="main", on_hand=5, reserved=0, allocated=0),
    ]
    assert await levels(backend, ["NOPE-1"], now) == []
    assert await levels(backend, [], now) == []


async def test_levels_count_reserved_and_allocated_stock_separately(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    await allocated_reservation(backend, clock, [("TEE-M", 2)])

    assert await level(backend, "TEE-M", clock.now()) == (10, 3, 2, 5)


# -- receive ---------------------------------------------------------------------------------
async def test_receive_creates_the_level_and_records_the_movement(
    backend: Backend, clock: ManualClock
) -> None:
    movement = await receive(backend, "TEE-M", 12, clock.now(), "berlin")

    assert await levels(backend, ["TEE-M"], clock.now()) == [
        StockLevel(sku="TEE-M", location="berlin", on_hand=12, reserved=0, allocated=0)
    ]
    assert await trail(backend, "TEE-M") == [movement]


async def test_receive_adds_to_what_is_on_hand(backend: Backend, clock: ManualClock) -> None:
    first = await receive(backend, "TEE-M", 12, clock.now())
    second = await receive(backend, "TEE-M", 30, clock.advance(hours=1))

    assert await level(backend, "TEE-M", clock.now()) == (42, 0, 0, 42)
    assert await trail(backend, "TEE-M") == [first, second]


# -- adjust ----------------------------------------------------------------------------------
async def test_adjust_changes_on_hand_and_records_the_movement(
    backend: Backend, clock: ManualClock
) -> None:
    received = await receive(backend, "TEE-M", 10, clock.now())
    up = adjustment("TEE-M", 4, clock.advance(minutes=1))
    down = adjustment("TEE-M", -9, clock.advance(minutes=1))

    await write(backend, lambda uow: uow.stock.adjust(up, clock.now()))
    await write(backend, lambda uow: uow.stock.adjust(down, clock.now()))

    assert await level(backend, "TEE-M", clock.now()) == (5, 0, 0, 5)
    assert await trail(backend, "TEE-M") == [received, up, down]


async def test_adjust_may_bring_on_hand_down_to_exactly_what_is_promised(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    await allocated_reservation(backend, clock, [("TEE-M", 2)])

    await write(
        backend, lambda uow: uow.stock.adjust(adjustment("TEE-M", -5, clock.now()), clock.now())
    )

    assert await level(backend, "TEE-M", clock.now()) == (5, 3, 2, 0)


async def test_adjust_below_what_is_promised_fails_and_changes_nothing(
    backend: Backend, clock: ManualClock
) -> None:
    received = await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    await allocated_reservation(backend, clock, [("TEE-M", 2)])

    with pytest.raises(InsufficientStock) as caught:
        async with backend.uow() as uow:
            await uow.stock.adjust(adjustment("TEE-M", -6, clock.now()), clock.now())
            await uow.commit()

    assert caught.value.code == "insufficient-stock"
    assert await level(backend, "TEE-M", clock.now()) == (10, 3, 2, 5)
    assert await trail(backend, "TEE-M") == [received]


async def test_adjust_counts_only_reservations_still_holding_stock(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 8)], now=clock.now()), clock.now())
    later = clock.advance(minutes=16)  # the reservation lapsed; no sweep ran

    await write(backend, lambda uow: uow.stock.adjust(adjustment("TEE-M", -10, later), later))

    assert await level(backend, "TEE-M", later) == (0, 0, 0, 0)


async def test_adjust_down_of_an_unknown_sku_fails(backend: Backend, clock: ManualClock) -> None:
    with pytest.raises(InsufficientStock) as caught:
        async with backend.uow() as uow:
            await uow.stock.adjust(adjustment("NOPE-1", -1, clock.now()), clock.now())
            await uow.commit()

    assert caught.value.code == "insufficient-stock"
    assert await levels(backend, ["NOPE-1"], clock.now()) == []
    assert await trail(backend, "NOPE-1") == []


# -- movements -------------------------------------------------------------------------------
async def test_movements_are_the_audit_trail_of_one_sku_oldest_first(
    backend: Backend, clock: ManualClock
) -> None:
    first = await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 3, clock.now())
    second = adjustment("TEE-M", -2, clock.advance(minutes=1))
    await write(backend, lambda uow: uow.stock.adjust(second, clock.now()))
    third = await receive(backend, "TEE-M", 5, clock.advance(minutes=1), "berlin")
    held = await allocated_reservation(backend, clock, [("TEE-M", 1)])
    shipped_at = clock.advance(minutes=1)
    await write(backend, lambda uow: uow.stock.ship(held.id, shipped_at))
    fifth = await receive(backend, "TEE-M", 7, clock.advance(minutes=1))

    found = await trail(backend, "TEE-M")

    assert found[:3] == [first, second, third]
    assert (found[3].kind, found[3].delta, found[3].at) == (MovementKind.SHIPPED, -1, shipped_at)
    assert found[4:] == [fifth]
    assert [m.sku for m in await trail(backend, "CAP-1")] == ["CAP-1"]
    assert await trail(backend, "NOPE-1") == []


async def test_movements_at_one_instant_keep_the_order_they_were_made_in(
    backend: Backend, clock: ManualClock
) -> None:
    instant = clock.now()
    made = [
        b.movement("TEE-M", quantity, at=instant, reason=f"delivery {n}")
        for n, quantity in enumerate([5, 1, 9, 2, 7])
    ]
    for movement in made:
        await write(backend, lambda uow, m=movement: uow.stock.receive(m))

    assert await trail(backend, "TEE-M") == made


async def test_levels_read_in_the_unit_that_reserved_are_those_it_commits(
    backend: Backend, clock: ManualClock
) -> None:
    """What a checkout announces (levels read in the unit that reserved, after reserving) is
    what a fresh read finds once it committed: for a SKU at one location, at two, and on a
    row where a lapsed reservation still held stock the new one's statement gave back."""
    start = clock.now()
    await receive(backend, "TEE-M", 10, start)
    await receive(backend, "CAP-1", 5, start, "main")
    await receive(backend, "CAP-1", 7, start, "north")
    await reserve(backend, b.reservation([("TEE-M", 4)], now=start), start)  # lapses, unswept
    now = clock.advance(seconds=b.HOLD.total_seconds() + 1)
    wanted = ["CAP-1", "TEE-M"]

    async with backend.uow() as uow:
        before = await uow.stock.levels(wanted, now)  # the checkout's own read, first
        taken = b.reservation([("TEE-M", 3), ("CAP-1", 2, "north")], now=now)
        await uow.stock.reserve(taken, now)
        seen = await uow.stock.levels(wanted, now)
        await uow.commit()

    assert seen == await levels(backend, wanted, now)
    assert [(x.sku, x.location, x.reserved) for x in before] == [
        ("CAP-1", "main", 0),
        ("CAP-1", "north", 0),
        ("TEE-M", "main", 0),  # the lapsed hold does not count
    ]
    assert [(x.sku, x.location, x.reserved) for x in seen] == [
        ("CAP-1", "main", 0),
        ("CAP-1", "north", 2),
        ("TEE-M", "main", 3),
    ]
