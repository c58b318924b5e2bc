from __future__ import annotations

import pytest

from shopcore import AdjustStock, InsufficientStock, OutOfStock, ReserveStock
from shopcore.inventory.commands import AllocateReservation, ShipReservation
from shopcore.inventory.model import MovementKind, Reservation, ReservationLine, StockLevel
from shopcore.inventory.queries import movements, stock_levels
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


async def reserve(driver: ShopDriver, lines: dict[str, int]) -> Reservation:
    reservation: Reservation = await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=tuple(lines.items()))
    )
    return reservation


async def by_location(driver: ShopDriver, sku: str) -> dict[str, tuple[int, int, int]]:
    found = await stock_levels(driver.shop.ports.stock_views, [sku], driver.clock.now())
    return {lv.location: (lv.on_hand, lv.reserved, lv.allocated) for lv in found}


async def test_each_location_keeps_its_own_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")

    assert await stock_levels(driver.shop.ports.stock_views, ["TEE-M"], driver.clock.now()) == [
        StockLevel(sku="TEE-M", location="berlin", on_hand=4, reserved=0, allocated=0),
        StockLevel(sku="TEE-M", location="hamburg", on_hand=6, reserved=0, allocated=0),
    ]
    assert await driver.available("TEE-M") == 10


async def test_a_line_is_reserved_where_most_is_available(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")

    reservation = await reserve(driver, {"TEE-M": 3})

    assert reservation.lines == (ReservationLine(sku="TEE-M", location="hamburg", quantity=3),)
    assert await by_location(driver, "TEE-M") == {"berlin": (4, 0, 0), "hamburg": (6, 3, 0)}


async def test_the_choice_follows_what_is_available_not_what_is_on_hand(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")
    await reserve(driver, {"TEE-M": 3})

    second = await reserve(driver, {"TEE-M": 2})

    assert second.lines[0].location == "berlin"


async def test_a_tie_goes_to_the_first_location_by_name(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5, location="zurich")
    await driver.receive("TEE-M", 5, location="aachen")

    reservation = await reserve(driver, {"TEE-M": 1})

    assert reservation.lines[0].location == "aachen"


async def test_a_line_is_never_split_across_locations(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")

    with pytest.raises(OutOfStock) as raised:
        await reserve(driver, {"TEE-M": 7})

    assert raised.value.skus == ("TEE-M",)
    assert await by_location(driver, "TEE-M") == {"berlin": (4, 0, 0), "hamburg": (6, 0, 0)}


async def test_each_sku_of_a_reservation_picks_its_own_location(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 5, location="berlin")
    await driver.receive("MUG-1", 5, location="hamburg")

    reservation = await reserve(driver, {"TEE-M": 1, "MUG-1": 2})

    assert reservation.lines == (
        ReservationLine(sku="MUG-1", location="hamburg", quantity=2),
        ReservationLine(sku="TEE-M", location="berlin", quantity=1),
    )


async def test_shipping_takes_stock_from_the_reserved_location_only(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4, location="berlin")
    await driver.receive("TEE-M", 6, location="hamburg")
    reservation = await reserve(driver, {"TEE-M": 3})
    await driver.handle(AllocateReservation(reservation_id=reservation.id))
    assert await by_location(driver, "TEE-M") == {"berlin": (4, 0, 0), "hamburg": (6, 0, 3)}

    await driver.handle(ShipReservation(reservation_id=reservation.id))

    assert await by_location(driver, "TEE-M") == {"berlin": (4, 0, 0), "hamburg": (3, 0, 0)}
    shipped = [
        m for m in await movements(driver.shop.uow(), "TEE-M") if m.kind is MovementKind.SHIPPED
    ]
    assert [(m.location, m.delta) for m in shipped] == [("hamburg", -3)]
    assert await driver.available("TEE-M") == 7


async def test_an_adjustment_is_limited_by_its_own_location(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 2, location="berlin")
    await driver.receive("TEE-M", 50, location="hamburg")

    with pytest.raises(InsufficientStock) as raised:
        await driver.handle(AdjustStock(sku="TEE-M", delta=-3, reason="damaged", location="berlin"))
    await driver.handle(AdjustStock(sku="TEE-M", delta=-2, reason="damaged", location="berlin"))

    assert raised.value.code == "insufficient-stock"
    assert await by_location(driver, "TEE-M") == {"berlin": (0, 0, 0), "hamburg": (50, 0, 0)}
    adjusted = [
        m for m in await movements(driver.shop.uow(), "TEE-M") if m.kind is MovementKind.ADJUSTED
    ]
    assert [(m.location, m.delta) for m in adjusted] == [("berlin", -2)]


async def test_stock_at_one_location_does_not_cover_a_reservation_at_another(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 3, location="berlin")
    await driver.receive("TEE-M", 3, location="hamburg")
    first = await reserve(driver, {"TEE-M": 3})

    second = await reserve(driver, {"TEE-M": 3})

    assert {first.lines[0].location, second.lines[0].location} == {"berlin", "hamburg"}
    assert await driver.available("TEE-M") == 0
    with pytest.raises(OutOfStock):
        await reserve(driver, {"TEE-M": 1})
