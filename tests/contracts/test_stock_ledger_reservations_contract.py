"""What every StockLedger must do to hold stock for a checkout: reserve takes every line or
none, never more than is available, under an id that stays taken; release gives an active hold
back, deallocates an allocated one, and changes nothing the second time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import ReservationStatus, StockLevel
from shopcore.shared.errors import AlreadyExists, IllegalTransition, NotFound, OutOfStock
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import write
from tests.contracts.ledger_steps import (
    allocated_reservation,
    level,
    levels,
    receive,
    reserve,
    status_of,
    stored,
    trail,
)


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


# -- release ---------------------------------------------------------------------------------
async def test_release_gives_back_an_active_reservation(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())

    move = await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    released = move.reservation
    assert move.moved and released.status is ReservationStatus.RELEASED
    assert released.id == held.id
    assert released.lines == held.lines
    assert await stored(backend, held.id) == released
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


async def test_release_deallocates_an_allocated_reservation(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    held = await allocated_reservation(backend, clock, [("TEE-M", 4)])

    move = await write(backend, lambda uow: uow.stock.release(held.id, clock.now()))

    assert move.moved and move.reservation.status is ReservationStatus.DEALLOCATED
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

    assert not again.moved and again.reservation == before
    assert again.reservation.status is finished
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


async def test_a_reservation_of_many_lines_takes_all_of_them_or_none_then_allocates_them(
    backend: Backend, clock: ManualClock
) -> None:
    # More lines than the SQL ledger on PostgreSQL sends as one VALUES list
    # (stock_postgres.VALUES_UP_TO): its take goes over arrays instead.
    skus = [f"MANY-{n:02d}" for n in range(20)]
    for sku in skus:
        await receive(backend, sku, 2, clock.now())
    too_many = b.reservation([(sku, 2) for sku in skus[:-1]] + [(skus[-1], 3)], now=clock.now())

    with pytest.raises(OutOfStock) as caught:
        await reserve(backend, too_many, clock.now())

    assert caught.value.skus == (skus[-1],)
    assert {lv.reserved for lv in await levels(backend, skus, clock.now())} == {0}
    held = await allocated_reservation(backend, clock, [(sku, 2) for sku in skus])
    assert await status_of(backend, held.id) is ReservationStatus.ALLOCATED
    assert {(lv.reserved, lv.allocated) for lv in await levels(backend, skus, clock.now())} == {
        (0, 2)
    }


async def test_a_reservation_is_seen_by_its_own_unit_before_the_commit(
    backend: Backend, clock: ManualClock
) -> None:
    """A ledger may write a reservation's rows with the commit (PostgreSQL does): its own unit
    still reads it and moves it as if it were written."""
    await receive(backend, "TEE-M", 10, clock.now())
    held = b.reservation([("TEE-M", 3)], now=clock.now())

    async with backend.uow() as uow:
        await uow.stock.reserve(held, clock.now())
        assert await uow.stock.reservation(held.id) == held
        move = await uow.stock.allocate(held.id, clock.now())
        assert move.moved and move.reservation.status is ReservationStatus.ALLOCATED
        await uow.commit()

    assert await status_of(backend, held.id) is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 3, 7)


async def test_one_id_reserved_twice_in_one_unit_fails_and_keeps_neither(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    first = b.reservation([("TEE-M", 2)], now=clock.now())
    again = b.reservation([("TEE-M", 5)], now=clock.now(), id=first.id)

    with pytest.raises(AlreadyExists):
        async with backend.uow() as uow:
            await uow.stock.reserve(first, clock.now())
            await uow.stock.reserve(again, clock.now())
            await uow.commit()

    assert await stored(backend, first.id) is None
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


# -- sole_locations --------------------------------------------------------------------------
async def test_sole_locations_names_only_skus_kept_at_one_location_and_where(
    backend: Backend, clock: ManualClock
) -> None:
    """What the ledger has seen of a SKU (here: a reservation of it, and its levels) tells
    where it is kept; it may know less, never a location a SKU is not kept at."""
    await receive(backend, "TEE-M", 10, clock.now(), "berlin")
    await receive(backend, "CAP-1", 4, clock.now(), "main")
    await receive(backend, "CAP-1", 4, clock.now(), "berlin")
    await reserve(
        backend, b.reservation([("TEE-M", 1, "berlin"), ("CAP-1", 1)], now=clock.now()), clock.now()
    )
    await levels(backend, ["CAP-1", "TEE-M"], clock.now())

    async with backend.uow() as uow:
        sole = uow.stock.sole_locations(["CAP-1", "NOPE-1", "TEE-M"])

    assert sole == {"TEE-M": "berlin"}


async def test_a_sku_received_at_a_second_location_is_no_longer_named_sole(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await reserve(backend, b.reservation([("TEE-M", 1)], now=clock.now()), clock.now())
    async with backend.uow() as uow:
        assert uow.stock.sole_locations(["TEE-M"]) == {"TEE-M": "main"}

    await receive(backend, "TEE-M", 3, clock.now(), "berlin")

    async with backend.uow() as uow:
        assert uow.stock.sole_locations(["TEE-M"]) == {}
