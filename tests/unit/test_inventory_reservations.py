from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shopcore import (
    AdjustStock,
    AlreadyExists,
    ExpireReservations,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutOfStock,
    ReleaseReservation,
    ReserveStock,
)
from shopcore.inventory.commands import (
    RESERVATION_TTL_SECONDS,
    AllocateReservation,
    ShipReservation,
)
from shopcore.inventory.events import ReservationExpired
from shopcore.inventory.handlers import MAX_LINES, MAX_TTL_SECONDS
from shopcore.inventory.model import (
    MAX_QUANTITY,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockLevel,
)
from shopcore.inventory.queries import stock_levels
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command
from tests.support.driver import ShopDriver


async def reserve(
    driver: ShopDriver, lines: dict[str, int], *, ttl: int = RESERVATION_TTL_SECONDS
) -> Reservation:
    reservation: Reservation = await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=tuple(lines.items()), ttl_seconds=ttl)
    )
    return reservation


def status(driver: ShopDriver, reservation_id: str) -> ReservationStatus:
    return driver.store.stock.reservations[reservation_id].status


async def level(driver: ShopDriver, sku: str) -> StockLevel:
    (found,) = await stock_levels(driver.shop.ports.stock_views, [sku], driver.clock.now())
    return found


async def test_a_reservation_holds_stock_until_it_expires(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    now = driver.clock.now()

    reservation = await reserve(driver, {"TEE-M": 4}, ttl=600)

    assert reservation.lines == (ReservationLine(sku="TEE-M", location="main", quantity=4),)
    assert reservation.status is ReservationStatus.ACTIVE
    assert reservation.created_at == now
    assert reservation.expires_at == now + timedelta(seconds=600)
    assert driver.store.stock.reservations[reservation.id] == reservation
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=10, reserved=4, allocated=0
    )
    assert await driver.available("TEE-M") == 6


async def test_reservations_last_fifteen_minutes_by_default(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 1)

    reservation: Reservation = await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=(("TEE-M", 1),))
    )

    assert reservation.expires_at - reservation.created_at == timedelta(minutes=15)


async def test_every_unit_available_can_be_reserved_but_not_one_more(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)
    await reserve(driver, {"TEE-M": 3})

    with pytest.raises(OutOfStock) as raised:
        await reserve(driver, {"TEE-M": 3})
    await reserve(driver, {"TEE-M": 2})

    assert raised.value.code == "out-of-stock"
    assert raised.value.skus == ("TEE-M",)
    assert await driver.available("TEE-M") == 0


async def test_several_lines_are_reserved_together(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)
    await driver.receive("MUG-1", 5)

    reservation = await reserve(driver, {"TEE-M": 2, "MUG-1": 3})

    assert reservation.skus == ("MUG-1", "TEE-M")
    assert {line.sku: line.quantity for line in reservation.lines} == {"TEE-M": 2, "MUG-1": 3}
    assert await driver.available("TEE-M") == 3
    assert await driver.available("MUG-1") == 2


async def test_one_short_line_reserves_nothing(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)
    await driver.receive("MUG-1", 1)
    reservation_id = new_id()

    with pytest.raises(OutOfStock) as raised:
        await driver.handle(
            ReserveStock(reservation_id=reservation_id, lines=(("TEE-M", 2), ("MUG-1", 2)))
        )

    assert raised.value.skus == ("MUG-1",)
    assert reservation_id not in driver.store.stock.reservations
    assert await driver.available("TEE-M") == 5
    assert await driver.available("MUG-1") == 1


async def test_a_sku_never_stocked_is_out_of_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)

    with pytest.raises(OutOfStock) as raised:
        await reserve(driver, {"TEE-M": 1, "NEW-1": 1})

    assert raised.value.skus == ("NEW-1",)
    assert await driver.available("TEE-M") == 5


async def test_out_of_stock_names_every_short_sku(driver: ShopDriver) -> None:
    # One error listing every short line lets a shopper fix the cart in one go.
    await driver.receive("TEE-M", 5)
    await driver.receive("MUG-1", 1)

    with pytest.raises(OutOfStock) as raised:
        await reserve(driver, {"TEE-M": 1, "MUG-1": 2, "NEW-1": 1})

    assert raised.value.skus == ("MUG-1", "NEW-1")
    assert await driver.available("TEE-M") == 5


async def test_lines_of_the_same_sku_are_combined(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)

    reservation: Reservation = await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=(("TEE-M", 2), ("TEE-M", 3)))
    )

    assert reservation.lines == (ReservationLine(sku="TEE-M", location="main", quantity=5),)
    assert await driver.available("TEE-M") == 0


async def test_combined_lines_of_one_sku_must_fit_together(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4)

    with pytest.raises(OutOfStock):
        await driver.handle(
            ReserveStock(reservation_id=new_id(), lines=(("TEE-M", 2), ("TEE-M", 3)))
        )

    assert await driver.available("TEE-M") == 4


async def test_a_reservation_id_is_used_once(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    first = await reserve(driver, {"TEE-M": 2})

    with pytest.raises(AlreadyExists) as raised:
        await driver.handle(ReserveStock(reservation_id=first.id, lines=(("TEE-M", 5),)))

    assert raised.value.code == "already-exists"
    assert driver.store.stock.reservations[first.id] == first
    assert await driver.available("TEE-M") == 8


@pytest.mark.parametrize(
    "change",
    [
        {"lines": ()},
        {"lines": (("TEE-M", 0),)},
        {"lines": (("TEE-M", -1),)},
        {"lines": (("TEE-M", MAX_QUANTITY + 1),)},
        {"lines": (("bad sku", 1),)},
        {"lines": tuple((f"SKU-{n}", 1) for n in range(MAX_LINES + 1))},
        {"ttl_seconds": 0},
        {"ttl_seconds": MAX_TTL_SECONDS + 1},
    ],
    ids=[
        "no-lines",
        "zero",
        "negative",
        "too-many-units",
        "bad-sku",
        "too-many-skus",
        "ttl-0",
        "ttl-too-long",
    ],
)
async def test_an_invalid_reservation_holds_nothing(
    driver: ShopDriver, change: dict[str, Any]
) -> None:
    await driver.receive("TEE-M", 10)
    reservation_id = new_id()
    fields: dict[str, Any] = {"reservation_id": reservation_id, "lines": (("TEE-M", 1),)} | change

    with pytest.raises(InvalidInput) as raised:
        await driver.handle(ReserveStock(**fields))

    assert raised.value.code == "invalid-input"
    assert reservation_id not in driver.store.stock.reservations
    assert await driver.available("TEE-M") == 10


async def test_a_reservation_may_last_up_to_a_day(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 1)

    reservation = await reserve(driver, {"TEE-M": 1}, ttl=MAX_TTL_SECONDS)

    assert reservation.expires_at == driver.clock.now() + timedelta(days=1)


async def test_an_expired_reservation_frees_its_stock_before_any_sweep(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)
    reservation = await reserve(driver, {"TEE-M": 5}, ttl=60)

    driver.clock.advance(seconds=59)
    assert await driver.available("TEE-M") == 0
    driver.clock.advance(seconds=1)

    assert await driver.available("TEE-M") == 5
    assert (await level(driver, "TEE-M")).reserved == 0
    assert status(driver, reservation.id) is ReservationStatus.ACTIVE
    assert (await reserve(driver, {"TEE-M": 5})).status is ReservationStatus.ACTIVE


async def test_expiring_marks_due_reservations_and_leaves_live_ones(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    short = await reserve(driver, {"TEE-M": 2}, ttl=60)
    long = await reserve(driver, {"TEE-M": 3}, ttl=600)
    driver.clock.advance(seconds=60)

    count = await driver.handle(ExpireReservations())

    assert count == 1
    assert status(driver, short.id) is ReservationStatus.EXPIRED
    assert status(driver, long.id) is ReservationStatus.ACTIVE
    assert await driver.available("TEE-M") == 7
    expired = [e for e in driver.store.outbox if isinstance(e, ReservationExpired)]
    assert [e.reservation_id for e in expired] == [short.id]


async def test_expiring_takes_the_oldest_first_up_to_the_limit(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    later = await reserve(driver, {"TEE-M": 1}, ttl=120)
    earliest = await reserve(driver, {"TEE-M": 1}, ttl=30)
    middle = await reserve(driver, {"TEE-M": 1}, ttl=60)
    driver.clock.advance(minutes=5)

    assert await driver.handle(ExpireReservations(limit=2)) == 2
    assert status(driver, earliest.id) is ReservationStatus.EXPIRED
    assert status(driver, middle.id) is ReservationStatus.EXPIRED
    assert status(driver, later.id) is ReservationStatus.ACTIVE
    assert await driver.handle(ExpireReservations(limit=2)) == 1
    assert status(driver, later.id) is ReservationStatus.EXPIRED


async def test_expiring_with_nothing_due_does_nothing(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 1})
    outbox = len(driver.store.outbox)

    assert await driver.handle(ExpireReservations()) == 0
    assert status(driver, reservation.id) is ReservationStatus.ACTIVE
    assert len(driver.store.outbox) == outbox


@pytest.mark.parametrize("limit", [0, -1, 10_001])
async def test_an_invalid_expiry_limit_is_refused(driver: ShopDriver, limit: int) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 1}, ttl=1)
    driver.clock.advance(seconds=1)

    with pytest.raises(InvalidInput) as raised:
        await driver.handle(ExpireReservations(limit=limit))

    assert raised.value.code == "invalid-input"
    assert status(driver, reservation.id) is ReservationStatus.ACTIVE


async def test_releasing_gives_the_stock_back(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})

    released: Reservation = await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert released.status is ReservationStatus.RELEASED
    assert status(driver, reservation.id) is ReservationStatus.RELEASED
    assert await driver.available("TEE-M") == 10


async def test_releasing_twice_is_harmless(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(ReleaseReservation(reservation_id=reservation.id))
    await reserve(driver, {"TEE-M": 10})

    again: Reservation = await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert again.status is ReservationStatus.RELEASED
    assert await driver.available("TEE-M") == 0


async def test_releasing_an_expired_reservation_leaves_it_expired(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=2)
    await driver.handle(ExpireReservations())

    after: Reservation = await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert after.status is ReservationStatus.EXPIRED
    assert await driver.available("TEE-M") == 10


async def test_releasing_an_allocated_reservation_deallocates_it(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))

    after: Reservation = await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert after.status is ReservationStatus.DEALLOCATED
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=10, reserved=0, allocated=0
    )


async def test_a_shipped_reservation_cannot_be_released(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))
    await driver.handle(ShipReservation(reservation_id=reservation.id))

    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert raised.value.code == "illegal-transition"
    assert status(driver, reservation.id) is ReservationStatus.SHIPPED
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=6, reserved=0, allocated=0
    )


async def test_allocating_turns_the_hold_into_an_allocation(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})

    allocated: Reservation = await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert allocated.status is ReservationStatus.ALLOCATED
    assert status(driver, reservation.id) is ReservationStatus.ALLOCATED
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=10, reserved=0, allocated=4
    )
    assert await driver.available("TEE-M") == 6


async def test_an_allocation_outlives_the_reservation_expiry(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    await driver.handle(AllocateReservation(reservation_id=reservation.id))
    driver.clock.advance(hours=2)

    assert await driver.handle(ExpireReservations()) == 0
    assert await driver.available("TEE-M") == 6
    assert status(driver, reservation.id) is ReservationStatus.ALLOCATED


async def test_allocating_twice_is_harmless(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))

    again: Reservation = await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert again.status is ReservationStatus.ALLOCATED
    assert (await level(driver, "TEE-M")).allocated == 4


async def test_a_lapsed_reservation_is_allocated_while_its_stock_is_still_there(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=5)

    allocated: Reservation = await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert allocated.status is ReservationStatus.ALLOCATED
    assert await driver.available("TEE-M") == 6


async def test_a_lapsed_reservation_whose_stock_went_is_out_of_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=5)
    await reserve(driver, {"TEE-M": 2})

    with pytest.raises(OutOfStock) as raised:
        await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert raised.value.skus == ("TEE-M",)
    assert status(driver, reservation.id) is ReservationStatus.ACTIVE
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=5, reserved=2, allocated=0
    )


async def test_a_released_reservation_cannot_be_allocated(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert raised.value.code == "illegal-transition"
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=10, reserved=0, allocated=0
    )


async def test_a_swept_reservation_is_allocated_while_its_stock_is_still_there(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=5)
    await driver.handle(ExpireReservations())

    allocated = await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert allocated.status is ReservationStatus.ALLOCATED
    assert (await level(driver, "TEE-M")).allocated == 4


async def test_a_swept_reservation_whose_stock_is_gone_is_out_of_stock(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 5)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=5)
    await driver.handle(ExpireReservations())
    await reserve(driver, {"TEE-M": 3})

    with pytest.raises(OutOfStock):
        await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert status(driver, reservation.id) is ReservationStatus.EXPIRED
    assert (await level(driver, "TEE-M")).allocated == 0


async def test_shipping_takes_the_allocated_stock_off_hand(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    await driver.receive("MUG-1", 3)
    reservation = await reserve(driver, {"TEE-M": 4, "MUG-1": 1})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))

    shipped: Reservation = await driver.handle(ShipReservation(reservation_id=reservation.id))

    assert shipped.status is ReservationStatus.SHIPPED
    assert status(driver, reservation.id) is ReservationStatus.SHIPPED
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=6, reserved=0, allocated=0
    )
    assert await level(driver, "MUG-1") == StockLevel(
        sku="MUG-1", location="main", on_hand=2, reserved=0, allocated=0
    )
    assert await driver.available("TEE-M") == 6


async def test_shipping_twice_ships_once(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))
    await driver.handle(ShipReservation(reservation_id=reservation.id))

    again: Reservation = await driver.handle(ShipReservation(reservation_id=reservation.id))

    assert again.status is ReservationStatus.SHIPPED
    assert (await level(driver, "TEE-M")).on_hand == 6


async def test_stock_that_is_only_reserved_cannot_ship(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})

    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(ShipReservation(reservation_id=reservation.id))

    assert raised.value.code == "illegal-transition"
    assert status(driver, reservation.id) is ReservationStatus.ACTIVE
    assert await level(driver, "TEE-M") == StockLevel(
        sku="TEE-M", location="main", on_hand=10, reserved=4, allocated=0
    )


async def test_released_stock_can_be_adjusted_away(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 10})
    await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    await driver.handle(AdjustStock(sku="TEE-M", delta=-10, reason="recalled"))

    assert (await level(driver, "TEE-M")).on_hand == 0


@pytest.mark.parametrize(
    "command",
    [
        ReleaseReservation(reservation_id="missing"),
        AllocateReservation(reservation_id="missing"),
        ShipReservation(reservation_id="missing"),
    ],
    ids=["release", "allocate", "ship"],
)
async def test_an_unknown_reservation_is_not_found(driver: ShopDriver, command: Command) -> None:
    with pytest.raises(NotFound) as raised:
        await driver.handle(command)

    assert raised.value.code == "not-found"
    assert driver.store.stock.reservations == {}
