"""What every StockLedger must do: each method one atomic, conditional change that keeps

    available = on_hand - reserved - allocated >= 0

for any number of concurrent units of work (see shopcore.inventory.model and .ports)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from shopcore.shared.errors import (
    AlreadyExists,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    OutOfStock,
    TransientConflict,
)
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write

# Generous: a deadlock shows up as this timeout rather than a hung run.
DEADLOCK_TIMEOUT = 30


# -- helpers -------------------------------------------------------------------------------
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
    return await read(backend, lambda uow: uow.stock.levels(skus, now))


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
def adjustment(sku: str, delta: int, at: datetime) -> StockMovement:
    return b.movement(sku, delta, at=at, kind=MovementKind.ADJUSTED, reason="stocktake")


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


# -- reserve ---------------------------------------------------------------------------------
async def test_reserve_stores_an_active_reservation_that_holds_its_stock(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 4, clock.now(), "berlin")
    held = b.reservation([("TEE-M", 3), ("CAP-1", 4, "berlin")], now=clock.now())

    await reserve(backend, held, clock.now())

    assert await stored(backend, held.id) == held
    assert await levels(backend, ["TEE-M", "CAP-1"], clock.now()) == [
        StockLevel(sku="CAP-1", location="berlin", on_hand=4, reserved=4, allocated=0),
        StockLevel(sku="TEE-M", location="main", on_hand=10, reserved=3, allocated=0),
    ]
    assert [movement.delta for movement in await trail(backend, "TEE-M")] == [10]


async def test_reserve_takes_exactly_what_is_available_but_not_one_more(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 5)], now=clock.now()), clock.now())

    with pytest.raises(OutOfStock) as caught:
        await reserve(backend, b.reservation([("TEE-M", 1)], now=clock.now()), clock.now())

    assert caught.value.code == "out-of-stock"
    assert caught.value.skus == ("TEE-M",)
    assert await level(backend, "TEE-M", clock.now()) == (5, 5, 0, 0)


async def test_reserve_holds_every_line_or_none_and_names_every_short_sku(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 1, clock.now())
    await receive(backend, "MUG-1", 3, clock.now(), "berlin")
    wanted = b.reservation(
        [("TEE-M", 2), ("MUG-1", 1), ("CAP-1", 2), ("NOPE-1", 1)], now=clock.now()
    )

    with pytest.raises(OutOfStock) as caught:
        await reserve(backend, wanted, clock.now())

    # MUG-1 is stocked, but not at the line's location.
    assert caught.value.skus == ("CAP-1", "MUG-1", "NOPE-1")
    assert await stored(backend, wanted.id) is None
    assert [
        (lv.sku, lv.reserved)
        for lv in await levels(backend, ["TEE-M", "CAP-1", "MUG-1"], clock.now())
    ] == [
        ("CAP-1", 0),
        ("MUG-1", 0),
        ("TEE-M", 0),
    ]


async def test_a_failed_reserve_leaves_nothing_behind_even_if_the_unit_commits(
    backend: Backend, clock: ManualClock
) -> None:
    # "Each method is one atomic, conditional change": a partial hold must not survive
    # in a unit that goes on to commit other work.
    await receive(backend, "TEE-M", 10, clock.now())
    wanted = b.reservation([("TEE-M", 2), ("CAP-1", 1)], now=clock.now())

    async with backend.uow() as uow:
        with pytest.raises(OutOfStock):
            await uow.stock.reserve(wanted, clock.now())
        await uow.commit()

    assert await stored(backend, wanted.id) is None
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


async def test_reserve_with_a_taken_id_fails_and_keeps_the_first(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    first = await reserve(backend, b.reservation([("TEE-M", 2)], now=clock.now()), clock.now())
    again = b.reservation([("TEE-M", 5)], now=clock.now(), id=first.id)

    with pytest.raises(AlreadyExists) as caught:
        await reserve(backend, again, clock.now())

    assert caught.value.code == "already-exists"
    assert await stored(backend, first.id) == first
    assert await level(backend, "TEE-M", clock.now()) == (10, 2, 0, 8)


async def test_the_id_of_a_finished_reservation_stays_taken(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    first = await reserve(backend, b.reservation([("TEE-M", 2)], now=clock.now()), clock.now())
    await write(backend, lambda uow: uow.stock.release(first.id, clock.now()))

    with pytest.raises(AlreadyExists):
        await reserve(
            backend, b.reservation([("TEE-M", 1)], now=clock.now(), id=first.id), clock.now()
        )

    assert await status_of(backend, first.id) is ReservationStatus.RELEASED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


async def test_allocated_stock_is_not_available_for_reservation(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    await allocated_reservation(backend, clock, [("TEE-M", 4)])

    with pytest.raises(OutOfStock):
        await reserve(backend, b.reservation([("TEE-M", 2)], now=clock.now()), clock.now())

    assert await level(backend, "TEE-M", clock.now()) == (5, 0, 4, 1)


# -- expiry by time, before any sweep --------------------------------------------------------
async def test_a_lapsed_reservation_stops_holding_stock_before_any_sweep(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    lapsed = await reserve(
        backend,
        b.reservation([("TEE-M", 5)], now=clock.now(), ttl=timedelta(minutes=10)),
        clock.now(),
    )
    assert await level(backend, "TEE-M", clock.advance(minutes=9)) == (5, 5, 0, 0)

    later = clock.advance(minutes=2)
    assert await level(backend, "TEE-M", later) == (5, 0, 0, 5)
    newcomer = await reserve(backend, b.reservation([("TEE-M", 5)], now=later), later)

    assert await level(backend, "TEE-M", later) == (5, 5, 0, 0)
    assert await status_of(backend, lapsed.id) is ReservationStatus.ACTIVE
    assert await status_of(backend, newcomer.id) is ReservationStatus.ACTIVE


async def test_a_short_reserve_leaves_lapsed_holds_released_and_the_sweep_agrees(
    backend: Backend, clock: ManualClock
) -> None:
    # A reserve gives back, on every row it touches, what lapsed reservations still hold,
    # also on the short row and when it takes nothing in the end.
    await receive(backend, "TEE-M", 5, clock.now())
    await receive(backend, "CAP-1", 4, clock.now())
    await reserve(
        backend,
        b.reservation([("TEE-M", 3), ("CAP-1", 3)], now=clock.now(), ttl=timedelta(minutes=5)),
        clock.now(),
    )
    await reserve(backend, b.reservation([("TEE-M", 2)], now=clock.now()), clock.now())
    later = clock.advance(minutes=6)
    short = b.reservation([("TEE-M", 4), ("CAP-1", 1)], now=later)

    async with backend.uow() as uow:
        with pytest.raises(OutOfStock) as caught:
            await uow.stock.reserve(short, later)
        await uow.commit()

    assert caught.value.skus == ("TEE-M",)
    assert await level(backend, "TEE-M", later) == (5, 2, 0, 3)
    assert await level(backend, "CAP-1", later) == (4, 0, 0, 4)
    await write(backend, lambda uow: uow.stock.expire(later, 10))
    assert await level(backend, "TEE-M", later) == (5, 2, 0, 3)
    assert await level(backend, "CAP-1", later) == (4, 0, 0, 4)
    taken = await reserve(backend, b.reservation([("TEE-M", 3), ("CAP-1", 4)], now=later), later)
    assert await status_of(backend, taken.id) is ReservationStatus.ACTIVE


async def test_allocate_beside_a_lapsed_reservation_of_the_same_rows_keeps_every_count(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    await receive(backend, "CAP-1", 5, clock.now())
    await reserve(
        backend,
        b.reservation([("TEE-M", 2), ("CAP-1", 1)], now=clock.now(), ttl=timedelta(minutes=5)),
        clock.now(),
    )
    held = await reserve(
        backend, b.reservation([("TEE-M", 3), ("CAP-1", 2)], now=clock.now()), clock.now()
    )
    later = clock.advance(minutes=6)  # the first lapsed, unswept; `held` still holds

    await write(backend, lambda uow: uow.stock.allocate(held.id, later))

    assert await level(backend, "TEE-M", later) == (5, 0, 3, 2)
    assert await level(backend, "CAP-1", later) == (5, 0, 2, 3)
    await write(backend, lambda uow: uow.stock.expire(later, 10))
    assert await level(backend, "TEE-M", later) == (5, 0, 3, 2)
    assert await level(backend, "CAP-1", later) == (5, 0, 2, 3)
    rest = await reserve(backend, b.reservation([("TEE-M", 2), ("CAP-1", 3)], now=later), later)
    assert await status_of(backend, rest.id) is ReservationStatus.ACTIVE


async def test_a_reservation_stops_holding_stock_at_the_instant_it_expires(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    lapsing = await reserve(backend, b.reservation([("TEE-M", 5)], now=clock.now()), clock.now())
    instant = lapsing.expires_at

    assert await level(backend, "TEE-M", instant - timedelta(microseconds=1)) == (5, 5, 0, 0)
    assert await level(backend, "TEE-M", instant) == (5, 0, 0, 5)
    await reserve(backend, b.reservation([("TEE-M", 5)], now=instant), instant)


async def test_levels_use_the_time_they_are_asked_for(backend: Backend, clock: ManualClock) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 2)], now=clock.now()), clock.now())

    assert await level(backend, "TEE-M", held.expires_at + timedelta(days=1)) == (5, 0, 0, 5)
    assert await level(backend, "TEE-M", held.created_at) == (5, 2, 0, 3)


# -- release ---------------------------------------------------------------------------------
async def test_release_gives_back_an_active_reservation(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())

    released = await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    assert released.status is ReservationStatus.RELEASED
    assert released.id == held.id
    assert released.lines == held.lines
    assert await stored(backend, held.id) == released
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


async def test_release_deallocates_an_allocated_reservation(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])

    released = await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    assert released.status is ReservationStatus.DEALLOCATED
    assert await status_of(backend, held.id) is ReservationStatus.DEALLOCATED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


@pytest.mark.parametrize(
    "finished",
    [ReservationStatus.RELEASED, ReservationStatus.DEALLOCATED, ReservationStatus.EXPIRED],
)
async def test_releasing_a_reservation_already_given_back_changes_nothing(
    backend: Backend, clock: ManualClock, finished: ReservationStatus
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 1)], now=clock.now()), clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
    if finished is ReservationStatus.DEALLOCATED:
        await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))
    if finished is ReservationStatus.EXPIRED:
        swept = await write(
            backend, lambda uow: uow.stock.expire(held.expires_at + timedelta(seconds=1), 10)
        )
        assert held.id in [reservation.id for reservation in swept]
        clock.advance(minutes=20)
    else:
        await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))
    before = await stored(backend, held.id)
    levels_before = await levels(backend, ["TEE-M"], clock.now())

    again = await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    assert again == before
    assert again.status is finished
    assert await stored(backend, held.id) == before
    assert await levels(backend, ["TEE-M"], clock.now()) == levels_before


async def test_releasing_a_shipped_reservation_is_illegal_and_changes_nothing(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])
    await write(backend, lambda uow: uow.stock.ship(held.id, clock.now()))

    with pytest.raises(IllegalTransition) as caught:
        await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    assert caught.value.code == "illegal-transition"
    assert await status_of(backend, held.id) is ReservationStatus.SHIPPED
    assert await level(backend, "TEE-M", clock.now()) == (6, 0, 0, 6)


async def test_releasing_an_unknown_reservation_is_not_found(
    backend: Backend, clock: ManualClock
) -> None:
    with pytest.raises(NotFound) as caught:
        await write(backend, lambda uow: uow.stock.release(new_id(), clock.now()))

    assert caught.value.code == "not-found"


# -- allocate --------------------------------------------------------------------------------
async def test_allocate_turns_reserved_stock_into_allocated_stock(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 3, clock.now())
    held = await reserve(
        backend, b.reservation([("TEE-M", 4), ("CAP-1", 3)], now=clock.now()), clock.now()
    )

    allocated = await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    assert allocated.status is ReservationStatus.ALLOCATED
    assert allocated.lines == held.lines
    assert await stored(backend, held.id) == allocated
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)
    assert await level(backend, "CAP-1", clock.now()) == (3, 0, 3, 0)


async def test_allocated_stock_stays_promised_after_the_reservation_would_have_expired(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])
    later = held.expires_at + timedelta(days=3)

    assert await write(backend, lambda uow: uow.stock.expire(later, 10)) == []
    assert await level(backend, "TEE-M", later) == (10, 0, 4, 6)
    assert await status_of(backend, held.id) is ReservationStatus.ALLOCATED


async def test_allocating_again_changes_nothing(backend: Backend, clock: ManualClock) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])

    again = await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    assert again.status is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)


async def test_a_lapsed_reservation_is_allocated_while_its_stock_is_still_there(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    later = clock.advance(minutes=20)
    await reserve(backend, b.reservation([("TEE-M", 2)], now=later), later)

    allocated = await write(backend, lambda uow: uow.stock.allocate(held.id, later))

    assert allocated.status is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", later) == (5, 2, 3, 0)


async def test_a_lapsed_reservation_whose_stock_went_is_not_allocated(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    await receive(backend, "CAP-1", 5, clock.now())
    held = await reserve(
        backend, b.reservation([("TEE-M", 3), ("CAP-1", 1)], now=clock.now()), clock.now()
    )
    later = clock.advance(minutes=20)
    await reserve(backend, b.reservation([("TEE-M", 4)], now=later), later)

    with pytest.raises(OutOfStock) as caught:
        await write(backend, lambda uow: uow.stock.allocate(held.id, later))

    assert caught.value.code == "out-of-stock"
    assert caught.value.skus == ("TEE-M",)
    assert await status_of(backend, held.id) is ReservationStatus.ACTIVE
    assert await level(backend, "TEE-M", later) == (5, 4, 0, 1)
    assert await level(backend, "CAP-1", later) == (5, 0, 0, 5)


@pytest.mark.parametrize(
    "finished",
    [
        ReservationStatus.RELEASED,
        ReservationStatus.DEALLOCATED,
        ReservationStatus.SHIPPED,
    ],
)
async def test_allocating_a_finished_reservation_is_illegal_and_changes_nothing(
    backend: Backend, clock: ManualClock, finished: ReservationStatus
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
    if finished in {ReservationStatus.DEALLOCATED, ReservationStatus.SHIPPED}:
        await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))
    if finished in {ReservationStatus.RELEASED, ReservationStatus.DEALLOCATED}:
        await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))
    if finished is ReservationStatus.SHIPPED:
        await write(backend, lambda uow: uow.stock.ship(held.id, clock.now()))
    assert await status_of(backend, held.id) is finished
    levels_before = await levels(backend, ["TEE-M"], clock.now())

    with pytest.raises(IllegalTransition) as caught:
        await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    assert caught.value.code == "illegal-transition"
    assert await status_of(backend, held.id) is finished
    assert await levels(backend, ["TEE-M"], clock.now()) == levels_before


async def test_allocating_an_unknown_reservation_is_not_found(
    backend: Backend, clock: ManualClock
) -> None:
    with pytest.raises(NotFound) as caught:
        await write(backend, lambda uow: uow.stock.allocate(new_id(), clock.now()))

    assert caught.value.code == "not-found"


# -- ship ------------------------------------------------------------------------------------
async def test_ship_takes_the_stock_out_and_records_a_movement_per_line(
    backend: Backend, clock: ManualClock
) -> None:
    received_tee = await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 3, clock.now(), "berlin")
    held = await reserve(
        backend,
        b.reservation([("TEE-M", 4), ("CAP-1", 2, "berlin")], now=clock.now()),
        clock.now(),
    )
    await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))
    shipped_at = clock.advance(days=1)

    shipped = await write(backend, lambda uow: uow.stock.ship(held.id, shipped_at))

    assert shipped.status is ReservationStatus.SHIPPED
    assert await stored(backend, held.id) == shipped
    assert await levels(backend, ["TEE-M", "CAP-1"], shipped_at) == [
        StockLevel(sku="CAP-1", location="berlin", on_hand=1, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="main", on_hand=6, reserved=0, allocated=0),
    ]
    tee_trail = await trail(backend, "TEE-M")
    assert tee_trail[0] == received_tee
    assert [(m.kind, m.delta, m.location, m.at) for m in tee_trail[1:]] == [
        (MovementKind.SHIPPED, -4, "main", shipped_at)
    ]
    cap_trail = await trail(backend, "CAP-1")
    assert [(m.kind, m.delta, m.location, m.at) for m in cap_trail[1:]] == [
        (MovementKind.SHIPPED, -2, "berlin", shipped_at)
    ]


async def test_shipping_again_changes_nothing(backend: Backend, clock: ManualClock) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])
    await write(backend, lambda uow: uow.stock.ship(held.id, clock.now()))
    movements_before = await trail(backend, "TEE-M")

    again = await write(backend, lambda uow: uow.stock.ship(held.id, clock.advance(hours=1)))

    assert again.status is ReservationStatus.SHIPPED
    assert await level(backend, "TEE-M", clock.now()) == (6, 0, 0, 6)
    assert await trail(backend, "TEE-M") == movements_before


@pytest.mark.parametrize(
    "state",
    [
        ReservationStatus.ACTIVE,
        ReservationStatus.RELEASED,
        ReservationStatus.DEALLOCATED,
        ReservationStatus.EXPIRED,
    ],
)
async def test_shipping_a_reservation_that_is_not_allocated_is_illegal(
    backend: Backend, clock: ManualClock, state: ReservationStatus
) -> None:
    received = await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
    if state is ReservationStatus.DEALLOCATED:
        await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))
    if state in {ReservationStatus.RELEASED, ReservationStatus.DEALLOCATED}:
        await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))
    if state is ReservationStatus.EXPIRED:
        clock.advance(minutes=20)
        await write(backend, lambda uow: uow.stock.expire(clock.now(), 10))
    levels_before = await levels(backend, ["TEE-M"], clock.now())

    with pytest.raises(IllegalTransition) as caught:
        await write(backend, lambda uow: uow.stock.ship(held.id, clock.now()))

    assert caught.value.code == "illegal-transition"
    assert await status_of(backend, held.id) is state
    assert await levels(backend, ["TEE-M"], clock.now()) == levels_before
    assert await trail(backend, "TEE-M") == [received]


async def test_shipping_an_unknown_reservation_is_not_found(
    backend: Backend, clock: ManualClock
) -> None:
    with pytest.raises(NotFound) as caught:
        await write(backend, lambda uow: uow.stock.ship(new_id(), clock.now()))

    assert caught.value.code == "not-found"


# -- expire ----------------------------------------------------------------------------------
async def test_expire_marks_only_active_reservations_past_their_expiry(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 100, clock.now())
    start = clock.now()
    due_early = await reserve(
        backend, b.reservation([("TEE-M", 1)], now=start, ttl=timedelta(minutes=5)), start
    )
    due_now = await reserve(
        backend, b.reservation([("TEE-M", 2)], now=start, ttl=timedelta(minutes=10)), start
    )
    not_due = await reserve(
        backend, b.reservation([("TEE-M", 3)], now=start, ttl=timedelta(minutes=11)), start
    )
    released = await reserve(
        backend, b.reservation([("TEE-M", 4)], now=start, ttl=timedelta(minutes=1)), start
    )
    await write(backend, lambda uow: uow.stock.release(released.id, start))
    allocated = await reserve(
        backend, b.reservation([("TEE-M", 5)], now=start, ttl=timedelta(minutes=1)), start
    )
    await write(backend, lambda uow: uow.stock.allocate(allocated.id, start))
    now = start + timedelta(minutes=10)  # exactly due_now's expiry: it has passed

    expired = await write(backend, lambda uow: uow.stock.expire(now, 100))

    assert sorted(reservation.id for reservation in expired) == sorted([due_early.id, due_now.id])
    assert all(reservation.status is ReservationStatus.EXPIRED for reservation in expired)
    for reservation in expired:
        assert await stored(backend, reservation.id) == reservation
    assert await status_of(backend, not_due.id) is ReservationStatus.ACTIVE
    assert await status_of(backend, released.id) is ReservationStatus.RELEASED
    assert await status_of(backend, allocated.id) is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", now) == (100, 3, 5, 92)


async def test_expire_takes_at_most_the_limit_and_leaves_the_rest_for_later(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 100, clock.now())
    due = [
        await reserve(
            backend,
            b.reservation([("TEE-M", 1)], now=clock.now(), ttl=timedelta(minutes=minutes)),
            clock.now(),
        )
        for minutes in (3, 1, 2, 5, 4)
    ]
    now = clock.advance(minutes=30)

    first = await write(backend, lambda uow: uow.stock.expire(now, 2))
    second = await write(backend, lambda uow: uow.stock.expire(now, 2))
    third = await write(backend, lambda uow: uow.stock.expire(now, 2))
    fourth = await write(backend, lambda uow: uow.stock.expire(now, 2))

    assert [len(first), len(second), len(third), fourth] == [2, 2, 1, []]
    swept = [reservation.id for reservation in first + second + third]
    assert sorted(swept) == sorted(reservation.id for reservation in due)
    for reservation in due:
        assert await status_of(backend, reservation.id) is ReservationStatus.EXPIRED


async def test_expire_with_nothing_due_returns_nothing(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 1)], now=clock.now()), clock.now())

    assert await write(backend, lambda uow: uow.stock.expire(clock.now(), 10)) == []
    assert await status_of(backend, held.id) is ReservationStatus.ACTIVE


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


# -- concurrency -----------------------------------------------------------------------------
ATTEMPTS = 10


async def try_to_reserve(
    backend: Backend, reservation: Reservation, now: datetime
) -> OutOfStock | None:
    """One unit per attempt; a TransientConflict is retried as the message bus retries it."""
    for attempt in range(ATTEMPTS):
        try:
            async with backend.uow() as uow:
                await uow.stock.reserve(reservation, now)
                await asyncio.sleep(0)  # let the rivals run while this unit is still open
                await uow.commit()
        except TransientConflict:
            await asyncio.sleep(0.001 * 2**attempt * random.random())
            continue
        except OutOfStock as short:
            return short
        return None
    raise AssertionError(f"reservation {reservation.id} kept hitting transient conflicts")


async def test_concurrent_reservations_of_one_sku_take_exactly_the_stock(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 7, now)
    wanted = [b.reservation([("TEE-M", 1)], now=now) for _ in range(20)]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    won = [r for r, outcome in zip(wanted, outcomes, strict=True) if outcome is None]
    lost = [outcome for outcome in outcomes if outcome is not None]
    assert len(won) == 7
    assert len(lost) == 13
    assert all(short.skus == ("TEE-M",) for short in lost)
    assert await level(backend, "TEE-M", now) == (7, 7, 0, 0)
    for reservation, outcome in zip(wanted, outcomes, strict=True):
        assert (await stored(backend, reservation.id) is None) == (outcome is not None)


async def test_concurrent_reservations_of_different_sizes_never_oversell(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 10, now)
    sizes = [3, 4, 2, 5, 1, 3, 2, 4, 1, 2]
    wanted = [b.reservation([("TEE-M", size)], now=now) for size in sizes]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    taken = sum(size for size, outcome in zip(sizes, outcomes, strict=True) if outcome is None)
    on_hand, reserved, allocated, available = await level(backend, "TEE-M", now)
    assert (on_hand, reserved, allocated) == (10, taken, 0)
    assert available >= 0
    # A refused request did not fit when it ran, and availability only fell after that.
    assert all(size > available for size, outcome in zip(sizes, outcomes, strict=True) if outcome)


async def test_concurrent_multi_line_reservations_in_any_order_finish_without_overselling(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    skus = ["A-1", "B-1", "C-1", "D-1"]
    for sku in skus:
        await receive(backend, sku, 10, now)
    rng = random.Random(20260314)
    wanted = []
    for _ in range(30):
        chosen = rng.sample(skus, rng.randint(2, 4))  # random SKUs in a random order
        wanted.append(b.reservation([(sku, rng.randint(1, 3)) for sku in chosen], now=now))

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    final = {lv.sku: lv for lv in await levels(backend, skus, now)}
    for sku in skus:
        held = sum(
            line.quantity
            for reservation, outcome in zip(wanted, outcomes, strict=True)
            if outcome is None
            for line in reservation.lines
            if line.sku == sku
        )
        assert final[sku].reserved == held
        assert final[sku].available >= 0
    for reservation, outcome in zip(wanted, outcomes, strict=True):
        assert (await stored(backend, reservation.id) is None) == (outcome is not None)
        if outcome is not None:
            requested = {line.sku: line.quantity for line in reservation.lines}
            assert outcome.skus
            assert set(outcome.skus) <= set(requested)
            assert all(requested[sku] > final[sku].available for sku in outcome.skus)
    assert any(outcome is None for outcome in outcomes)
    assert any(outcome is not None for outcome in outcomes)


async def try_to_adjust(backend: Backend, movement: StockMovement, now: datetime) -> bool:
    for attempt in range(ATTEMPTS):
        try:
            async with backend.uow() as uow:
                await uow.stock.adjust(movement, now)
                await asyncio.sleep(0)
                await uow.commit()
        except TransientConflict:
            await asyncio.sleep(0.001 * 2**attempt * random.random())
            continue
        except InsufficientStock:
            return False
        return True
    raise AssertionError("adjustment kept hitting transient conflicts")


async def test_concurrent_write_offs_and_reservations_never_oversell(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 20, now)
    wanted = [b.reservation([("TEE-M", 2)], now=now) for _ in range(10)]
    write_offs = [adjustment("TEE-M", -2, now) for _ in range(10)]
    jobs = [try_to_reserve(backend, r, now) for r in wanted]
    jobs += [try_to_adjust(backend, m, now) for m in write_offs]
    random.Random(7).shuffle(jobs)

    await asyncio.wait_for(asyncio.gather(*jobs), DEADLOCK_TIMEOUT)

    reserved_ok = [r for r in wanted if await stored(backend, r.id) is not None]
    adjustments = [m for m in await trail(backend, "TEE-M") if m.kind is MovementKind.ADJUSTED]
    on_hand, reserved, allocated, available = await level(backend, "TEE-M", now)
    assert reserved == 2 * len(reserved_ok)
    assert on_hand == 20 - 2 * len(adjustments)
    assert allocated == 0
    assert available >= 0
    assert len(reserved_ok) + len(adjustments) == 10  # all 20 units went, none twice


async def test_a_swept_reservation_is_allocated_when_its_stock_is_still_there(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
    clock.advance(minutes=20)
    await write(backend, lambda uow: uow.stock.expire(clock.now(), 10))
    assert await status_of(backend, held.id) is ReservationStatus.EXPIRED

    await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    assert await status_of(backend, held.id) is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)


async def test_a_swept_reservation_whose_stock_went_is_out_of_stock_and_stays_expired(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
    clock.advance(minutes=20)
    await write(backend, lambda uow: uow.stock.expire(clock.now(), 10))
    await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())

    with pytest.raises(OutOfStock):
        await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    assert await status_of(backend, held.id) is ReservationStatus.EXPIRED
    assert await level(backend, "TEE-M", clock.now()) == (5, 3, 0, 2)
