"""What every StockLedger must do for a paid order: allocate turns reserved stock into
allocated stock (a lapsed hold's too, while its stock is still there), and ship takes it out
with a movement per line; doing either again changes nothing, and doing it to a reservation in
the wrong state is illegal and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.inventory.model import MovementKind, Reservation, ReservationStatus, StockLevel
from shopcore.inventory.ports import Move
from shopcore.shared.errors import IllegalTransition, NotFound, OutOfStock
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


# -- allocate --------------------------------------------------------------------------------
async def test_allocate_turns_reserved_stock_into_allocated_stock(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 3, clock.now())
    held = await reserve(
        backend, b.reservation([("TEE-M", 4), ("CAP-1", 3)], now=clock.now()), clock.now()
    )

    move = await write(backend, lambda uow: uow.stock.allocate(held.id, clock.now()))

    allocated = move.reservation
    assert move.moved and allocated.status is ReservationStatus.ALLOCATED
    # Reserved becomes allocated: what is available stays as the reservation left it.
    assert not move.available_changed
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

    assert not again.moved and again.reservation.status is ReservationStatus.ALLOCATED
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)


async def test_a_lapsed_reservation_is_allocated_while_its_stock_is_still_there(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    later = clock.advance(minutes=20)
    await reserve(backend, b.reservation([("TEE-M", 2)], now=later), later)

    move = await write(backend, lambda uow: uow.stock.allocate(held.id, later))

    assert move.moved and move.reservation.status is ReservationStatus.ALLOCATED
    assert move.available_changed  # the lapsed hold counted as available: 3 -> 0
    assert await level(backend, "TEE-M", later) == (5, 2, 3, 0)


@pytest.mark.parametrize("swept", [False, True], ids=["lapsed", "swept"])
async def test_allocating_a_lapsed_hold_that_no_one_took_changes_what_is_available(
    backend: Backend, clock: ManualClock, swept: bool
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    held = await reserve(backend, b.reservation([("TEE-M", 3)], now=clock.now()), clock.now())
    later = clock.advance(minutes=20)
    if swept:
        await write(backend, lambda uow: uow.stock.expire(later, 10))
    assert await level(backend, "TEE-M", later) == (5, 0, 0, 5)  # the lapsed hold is free

    move = await write(backend, lambda uow: uow.stock.allocate(held.id, later))

    assert move.moved and move.available_changed
    assert await level(backend, "TEE-M", later) == (5, 0, 3, 2)


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


# -- allocate, by the unit of work that made the reservation ---------------------------------
# A checkout reserves in its first transaction and allocates in its second, through the same
# unit of work; a ledger may use what it knows of the reservation it made (PostgreSQL moves
# and takes it in one statement), but must answer as for any other unit.
async def own_reservation(
    backend: Backend, clock: ManualClock, lines: list[tuple[str, int]]
) -> tuple[ShopUnitOfWork, Reservation]:
    uow = backend.uow()
    held = b.reservation(lines, now=clock.now())
    async with uow:
        await uow.stock.reserve(held, clock.now())
        await uow.commit()
    return uow, held


async def allocated_by(uow: ShopUnitOfWork, reservation_id: str, now: datetime) -> Move:
    async with uow:
        move = await uow.stock.allocate(reservation_id, now)
        await uow.commit()
    return move


async def test_the_unit_that_made_a_reservation_allocates_it_in_a_later_transaction(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    await receive(backend, "CAP-1", 3, clock.now())
    uow, held = await own_reservation(backend, clock, [("TEE-M", 4), ("CAP-1", 3)])

    move = await allocated_by(uow, held.id, clock.now())

    assert move.moved and not move.available_changed
    assert move.reservation.status is ReservationStatus.ALLOCATED
    assert move.reservation.lines == held.lines
    assert await stored(backend, held.id) == move.reservation
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)
    assert await level(backend, "CAP-1", clock.now()) == (3, 0, 3, 0)
    again = await allocated_by(uow, held.id, clock.now())
    assert not again.moved
    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 4, 6)


async def test_the_unit_that_made_a_lapsed_reservation_allocates_it_while_its_stock_is_there(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    uow, held = await own_reservation(backend, clock, [("TEE-M", 3)])
    later = clock.advance(minutes=20)
    await reserve(backend, b.reservation([("TEE-M", 2)], now=later), later)

    move = await allocated_by(uow, held.id, later)

    assert move.moved and move.available_changed
    assert await level(backend, "TEE-M", later) == (5, 2, 3, 0)


async def test_the_unit_that_made_a_lapsed_reservation_whose_stock_went_does_not_allocate_it(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 5, clock.now())
    await receive(backend, "CAP-1", 5, clock.now())
    uow, held = await own_reservation(backend, clock, [("TEE-M", 3), ("CAP-1", 1)])
    later = clock.advance(minutes=20)
    await reserve(backend, b.reservation([("TEE-M", 4)], now=later), later)

    async with uow:
        with pytest.raises(OutOfStock) as caught:
            await uow.stock.allocate(held.id, later)
        await uow.commit()  # what the refused allocation left: nothing of it

    assert caught.value.skus == ("TEE-M",)
    assert await status_of(backend, held.id) is ReservationStatus.ACTIVE
    assert await level(backend, "TEE-M", later) == (5, 4, 0, 1)
    assert await level(backend, "CAP-1", later) == (5, 0, 0, 5)


async def test_the_unit_that_made_a_reservation_released_since_may_not_allocate_it(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    uow, held = await own_reservation(backend, clock, [("TEE-M", 4)])
    await write(backend, lambda other: other.stock.release(held.id, clock.now()))
    levels_before = await levels(backend, ["TEE-M"], clock.now())

    with pytest.raises(IllegalTransition):
        await allocated_by(uow, held.id, clock.now())

    assert await status_of(backend, held.id) is ReservationStatus.RELEASED
    assert await levels(backend, ["TEE-M"], clock.now()) == levels_before


async def test_a_unit_whose_reservation_did_not_commit_finds_no_reservation_to_allocate(
    backend: Backend, clock: ManualClock
) -> None:
    await receive(backend, "TEE-M", 10, clock.now())
    uow = backend.uow()
    held = b.reservation([("TEE-M", 4)], now=clock.now())
    async with uow:
        await uow.stock.reserve(held, clock.now())  # and left without a commit

    with pytest.raises(NotFound):
        await allocated_by(uow, held.id, clock.now())

    assert await level(backend, "TEE-M", clock.now()) == (10, 0, 0, 10)


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

    move = await write(backend, lambda uow: uow.stock.ship(held.id, shipped_at))

    shipped = move.reservation
    assert move.moved and shipped.status is ReservationStatus.SHIPPED
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

    assert not again.moved and again.reservation.status is ReservationStatus.SHIPPED
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
