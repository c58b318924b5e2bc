"""How every StockLedger lets reservations lapse: a hold stops counting at the instant it
expires, before any sweep runs; the sweep (expire) marks only active reservations past their
expiry, at most a limit at a time; and a swept reservation may still be allocated while its
stock is there."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import ReservationStatus
from shopcore.shared.errors import OutOfStock
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import write
from tests.contracts.ledger_steps import level, receive, reserve, status_of, stored


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


# -- a swept reservation, allocated after all ----------------------------------------------
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
