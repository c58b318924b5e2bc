from __future__ import annotations

from typing import Any

import pytest

from shopcore import (
    AdjustStock,
    ExpireReservations,
    InsufficientStock,
    OutOfStock,
    ReleaseReservation,
    ReserveStock,
)
from shopcore.inventory.commands import AllocateReservation, ShipReservation
from shopcore.inventory.events import ReservationExpired, StockChanged
from shopcore.inventory.model import Reservation
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


def stock_events(driver: ShopDriver) -> list[StockChanged]:
    return [event for event in driver.store.outbox if isinstance(event, StockChanged)]


def totals(event: StockChanged) -> tuple[str, int, int, int, int, str]:
    return (
        event.sku,
        event.on_hand,
        event.reserved,
        event.allocated,
        event.available,
        event.reason,
    )


async def reserve(driver: ShopDriver, lines: dict[str, int], ttl: int = 900) -> Reservation:
    reservation: Reservation = await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=tuple(lines.items()), ttl_seconds=ttl)
    )
    return reservation


async def test_receiving_announces_the_new_totals(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)

    assert [totals(e) for e in stock_events(driver)] == [("TEE-M", 10, 0, 0, 10, "received")]


async def test_totals_cover_every_location_of_the_sku(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")

    assert [totals(e) for e in stock_events(driver)] == [
        ("TEE-M", 4, 0, 0, 4, "received"),
        ("TEE-M", 10, 0, 0, 10, "received"),
    ]


async def test_an_adjustment_announces_the_new_totals(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)

    await driver.handle(AdjustStock(sku="TEE-M", delta=-3, reason="damaged"))

    assert totals(stock_events(driver)[-1]) == ("TEE-M", 7, 0, 0, 7, "adjusted")


async def test_a_reservation_announces_each_sku_it_holds(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    await driver.receive("MUG-1", 5)

    await reserve(driver, {"TEE-M": 4, "MUG-1": 1})

    assert [totals(e) for e in stock_events(driver)[2:]] == [
        ("MUG-1", 5, 1, 0, 4, "reserved"),
        ("TEE-M", 10, 4, 0, 6, "reserved"),
    ]


async def test_each_step_of_a_reservation_announces_where_stock_stands(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))
    await driver.handle(ShipReservation(reservation_id=reservation.id))

    # Allocating a hold that still holds changes nothing a storefront sees (6 available
    # before and after): it is not announced on its own; the shipment carries the new split.
    assert [totals(e) for e in stock_events(driver)] == [
        ("TEE-M", 10, 0, 0, 10, "received"),
        ("TEE-M", 10, 4, 0, 6, "reserved"),
        ("TEE-M", 6, 0, 0, 6, "shipped"),
    ]


async def test_allocating_a_lapsed_hold_announces_the_stock_it_takes_again(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4}, ttl=60)
    driver.clock.advance(minutes=2)

    await driver.handle(AllocateReservation(reservation_id=reservation.id))

    assert totals(stock_events(driver)[-1]) == ("TEE-M", 10, 0, 4, 6, "allocated")


async def test_releasing_announces_the_freed_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})

    await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert totals(stock_events(driver)[-1]) == ("TEE-M", 10, 0, 0, 10, "released")


async def test_deallocating_announces_the_freed_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation = await reserve(driver, {"TEE-M": 4})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))

    await driver.handle(ReleaseReservation(reservation_id=reservation.id))

    assert totals(stock_events(driver)[-1]) == ("TEE-M", 10, 0, 0, 10, "deallocated")


async def test_expiring_announces_each_reservation_and_each_sku_once(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    await driver.receive("MUG-1", 5)
    first = await reserve(driver, {"TEE-M": 1, "MUG-1": 1}, ttl=60)
    second = await reserve(driver, {"TEE-M": 2}, ttl=60)
    driver.clock.advance(minutes=2)
    start = len(driver.store.outbox)

    await driver.handle(ExpireReservations())

    emitted = driver.store.outbox[start:]
    assert [e.reservation_id for e in emitted if isinstance(e, ReservationExpired)] == sorted(
        [first.id, second.id]
    )
    assert [totals(e) for e in emitted if isinstance(e, StockChanged)] == [
        ("MUG-1", 5, 0, 0, 5, "expired"),
        ("TEE-M", 10, 0, 0, 10, "expired"),
    ]


async def test_a_change_that_changes_nothing_announces_nothing(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    released = await reserve(driver, {"TEE-M": 1})
    await driver.handle(ReleaseReservation(reservation_id=released.id))
    shipped = await reserve(driver, {"TEE-M": 1})
    await driver.handle(AllocateReservation(reservation_id=shipped.id))
    await driver.handle(ShipReservation(reservation_id=shipped.id))
    allocated = await reserve(driver, {"TEE-M": 1})
    await driver.handle(AllocateReservation(reservation_id=allocated.id))
    before = len(stock_events(driver))

    await driver.handle(ReleaseReservation(reservation_id=released.id))
    await driver.handle(AllocateReservation(reservation_id=allocated.id))
    await driver.handle(ShipReservation(reservation_id=shipped.id))

    assert len(stock_events(driver)) == before


@pytest.mark.parametrize(
    "command",
    [
        AdjustStock(sku="TEE-M", delta=-11, reason="miscount"),
        ReserveStock(reservation_id="r-1", lines=(("TEE-M", 11),)),
    ],
    ids=["adjust", "reserve"],
)
async def test_a_refused_change_announces_nothing(driver: ShopDriver, command: Any) -> None:
    await driver.receive("TEE-M", 10)

    with pytest.raises((InsufficientStock, OutOfStock)):
        await driver.handle(command)

    assert [totals(e) for e in stock_events(driver)] == [("TEE-M", 10, 0, 0, 10, "received")]


async def test_subscribers_receive_stock_changes_after_the_commit(driver: ShopDriver) -> None:
    seen: list[tuple[StockChanged, int]] = []

    async def probe(event: StockChanged, uow: object) -> None:
        seen.append((event, await driver.available(event.sku)))

    driver.shop.bus.subscribe(StockChanged, probe)

    await driver.receive("TEE-M", 10)
    await reserve(driver, {"TEE-M": 3})

    assert [(totals(event), now) for event, now in seen] == [
        (("TEE-M", 10, 0, 0, 10, "received"), 10),
        (("TEE-M", 10, 3, 0, 7, "reserved"), 7),
    ]
