from __future__ import annotations

from typing import Any

import pytest

from shopcore import (
    AdjustStock,
    InsufficientStock,
    InvalidInput,
    ReceiveStock,
    ReleaseReservation,
    ReserveStock,
)
from shopcore.inventory.commands import AllocateReservation, ShipReservation
from shopcore.inventory.events import StockChanged
from shopcore.inventory.model import MAX_QUANTITY, MovementKind, StockLevel, StockMovement
from shopcore.inventory.queries import availability, movements, stock_levels
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


async def levels(driver: ShopDriver, *skus: str) -> list[StockLevel]:
    return await stock_levels(driver.shop.ports.stock_views, skus, driver.clock.now())


async def trail(driver: ShopDriver, sku: str) -> list[StockMovement]:
    return await movements(driver.shop.uow(), sku)


def stock_events(driver: ShopDriver) -> list[StockChanged]:
    return [event for event in driver.store.outbox if isinstance(event, StockChanged)]


async def test_received_stock_is_on_hand_and_available(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)

    assert await levels(driver, "TEE-M") == [
        StockLevel(sku="TEE-M", location="main", on_hand=10, reserved=0, allocated=0)
    ]
    assert await driver.available("TEE-M") == 10


async def test_receipts_add_up(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    await driver.receive("TEE-M", 5)

    assert await driver.available("TEE-M") == 15


async def test_every_receipt_is_recorded_with_its_reason_and_time(driver: ShopDriver) -> None:
    first_at = driver.clock.now()
    await driver.receive("TEE-M", 10)
    second_at = driver.clock.advance(hours=1)
    await driver.handle(ReceiveStock(sku="TEE-M", quantity=4, reason="  returned by customer "))

    assert await trail(driver, "TEE-M") == [
        StockMovement(
            sku="TEE-M",
            location="main",
            kind=MovementKind.RECEIVED,
            delta=10,
            reason="received",
            at=first_at,
        ),
        StockMovement(
            sku="TEE-M",
            location="main",
            kind=MovementKind.RECEIVED,
            delta=4,
            reason="returned by customer",
            at=second_at,
        ),
    ]


async def test_a_sku_receives_up_to_the_maximum_at_once(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", MAX_QUANTITY)

    assert await driver.available("TEE-M") == MAX_QUANTITY


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 0},
        {"quantity": -3},
        {"quantity": MAX_QUANTITY + 1},
        {"quantity": 2.0},
        {"quantity": True},
        {"sku": "bad sku"},
        {"sku": ""},
        {"location": "Main"},
        {"location": "two words"},
        {"location": "x" * 101},
        {"reason": "   "},
        {"reason": "r" * 201},
        {"reason": "bell\x07"},
    ],
    ids=repr,
)
async def test_an_invalid_receipt_changes_nothing(
    driver: ShopDriver, change: dict[str, Any]
) -> None:
    fields: dict[str, Any] = {"sku": "TEE-M", "quantity": 5, "location": "main"} | change

    with pytest.raises(InvalidInput) as raised:
        await driver.handle(ReceiveStock(**fields))

    assert raised.value.code == "invalid-input"
    assert await levels(driver, fields["sku"]) == []
    assert await trail(driver, fields["sku"]) == []
    assert stock_events(driver) == []


async def test_an_adjustment_changes_on_hand_and_keeps_its_reason(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    at = driver.clock.advance(days=1)

    await driver.handle(AdjustStock(sku="TEE-M", delta=-3, reason="water damage"))

    assert await driver.available("TEE-M") == 7
    assert (await trail(driver, "TEE-M"))[-1] == StockMovement(
        sku="TEE-M",
        location="main",
        kind=MovementKind.ADJUSTED,
        delta=-3,
        reason="water damage",
        at=at,
    )


async def test_a_positive_adjustment_adds_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)

    await driver.handle(AdjustStock(sku="TEE-M", delta=2, reason="recount found two more"))

    assert await driver.available("TEE-M") == 12
    assert [(m.kind, m.delta) for m in await trail(driver, "TEE-M")] == [
        (MovementKind.RECEIVED, 10),
        (MovementKind.ADJUSTED, 2),
    ]


async def test_a_positive_adjustment_may_open_a_new_level(driver: ShopDriver) -> None:
    await driver.handle(AdjustStock(sku="TEE-M", delta=3, reason="found in back room"))

    assert await levels(driver, "TEE-M") == [
        StockLevel(sku="TEE-M", location="main", on_hand=3, reserved=0, allocated=0)
    ]


async def test_stock_can_be_adjusted_down_to_exactly_zero(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 4)

    await driver.handle(AdjustStock(sku="TEE-M", delta=-4, reason="stolen"))

    assert await levels(driver, "TEE-M") == [
        StockLevel(sku="TEE-M", location="main", on_hand=0, reserved=0, allocated=0)
    ]


async def test_an_adjustment_below_zero_is_refused_and_leaves_no_trace(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 4)
    before = len(stock_events(driver))

    with pytest.raises(InsufficientStock) as raised:
        await driver.handle(AdjustStock(sku="TEE-M", delta=-5, reason="miscount"))

    assert raised.value.code == "insufficient-stock"
    assert await driver.available("TEE-M") == 4
    assert [m.kind for m in await trail(driver, "TEE-M")] == [MovementKind.RECEIVED]
    assert len(stock_events(driver)) == before


async def test_an_unstocked_sku_cannot_be_adjusted_down(driver: ShopDriver) -> None:
    with pytest.raises(InsufficientStock):
        await driver.handle(AdjustStock(sku="TEE-M", delta=-1, reason="miscount"))

    assert await levels(driver, "TEE-M") == []
    assert await trail(driver, "TEE-M") == []


async def test_an_adjustment_cannot_take_reserved_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    await driver.handle(ReserveStock(reservation_id=new_id(), lines=(("TEE-M", 6),)))

    with pytest.raises(InsufficientStock):
        await driver.handle(AdjustStock(sku="TEE-M", delta=-5, reason="damaged"))
    await driver.handle(AdjustStock(sku="TEE-M", delta=-4, reason="damaged"))

    assert await levels(driver, "TEE-M") == [
        StockLevel(sku="TEE-M", location="main", on_hand=6, reserved=6, allocated=0)
    ]
    assert await driver.available("TEE-M") == 0


async def test_an_adjustment_cannot_take_allocated_stock(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    reservation_id = new_id()
    await driver.handle(ReserveStock(reservation_id=reservation_id, lines=(("TEE-M", 6),)))
    await driver.handle(AllocateReservation(reservation_id=reservation_id))

    with pytest.raises(InsufficientStock):
        await driver.handle(AdjustStock(sku="TEE-M", delta=-5, reason="damaged"))

    assert await levels(driver, "TEE-M") == [
        StockLevel(sku="TEE-M", location="main", on_hand=10, reserved=0, allocated=6)
    ]


async def test_an_expired_reservation_does_not_block_an_adjustment(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 10)
    await driver.handle(
        ReserveStock(reservation_id=new_id(), lines=(("TEE-M", 6),), ttl_seconds=60)
    )
    driver.clock.advance(seconds=60)

    await driver.handle(AdjustStock(sku="TEE-M", delta=-10, reason="sold at the counter"))

    assert await driver.available("TEE-M") == 0


@pytest.mark.parametrize(
    "change",
    [
        {"delta": 0},
        {"delta": MAX_QUANTITY + 1},
        {"delta": -MAX_QUANTITY - 1},
        {"reason": ""},
        {"reason": "\t \n"},
        {"sku": "no/slashes"},
        {"location": "UPPER"},
    ],
    ids=repr,
)
async def test_an_invalid_adjustment_changes_nothing(
    driver: ShopDriver, change: dict[str, Any]
) -> None:
    await driver.receive("TEE-M", 10)
    fields: dict[str, Any] = {"sku": "TEE-M", "delta": -1, "reason": "recount"} | change

    with pytest.raises(InvalidInput) as raised:
        await driver.handle(AdjustStock(**fields))

    assert raised.value.code == "invalid-input"
    assert await driver.available("TEE-M") == 10
    assert len(await trail(driver, "TEE-M")) == 1


async def test_the_trail_lists_receipts_adjustments_and_shipments_oldest_first(
    driver: ShopDriver,
) -> None:
    await driver.receive("TEE-M", 10)
    driver.clock.advance(minutes=1)
    await driver.handle(AdjustStock(sku="TEE-M", delta=-1, reason="damaged"))
    driver.clock.advance(minutes=1)
    reservation_id = new_id()
    await driver.handle(ReserveStock(reservation_id=reservation_id, lines=(("TEE-M", 3),)))
    await driver.handle(AllocateReservation(reservation_id=reservation_id))
    await driver.handle(ShipReservation(reservation_id=reservation_id))

    moves = await trail(driver, "TEE-M")

    assert [(m.kind, m.delta, m.reason) for m in moves] == [
        (MovementKind.RECEIVED, 10, "received"),
        (MovementKind.ADJUSTED, -1, "damaged"),
        (MovementKind.SHIPPED, -3, f"shipped for {reservation_id}"),
    ]
    assert [m.at for m in moves] == sorted(m.at for m in moves)
    assert sum(m.delta for m in moves) == (await levels(driver, "TEE-M"))[0].on_hand


async def test_reservations_and_releases_do_not_touch_the_trail(driver: ShopDriver) -> None:
    # The trail records changes to stock on hand; holding and giving back stock is not one.
    await driver.receive("TEE-M", 10)
    reservation_id = new_id()
    await driver.handle(ReserveStock(reservation_id=reservation_id, lines=(("TEE-M", 3),)))
    await driver.handle(ReleaseReservation(reservation_id=reservation_id))

    assert [m.kind for m in await trail(driver, "TEE-M")] == [MovementKind.RECEIVED]


async def test_an_unknown_sku_has_nothing_available(driver: ShopDriver) -> None:
    await driver.receive("TEE-M", 3)

    found = await availability(
        driver.shop.ports.stock_views, ["NOPE-1", "TEE-M"], driver.clock.now()
    )

    assert found == {"NOPE-1": 0, "TEE-M": 3}
    assert await levels(driver, "NOPE-1") == []
    assert await trail(driver, "NOPE-1") == []


async def test_levels_are_sorted_by_sku_and_location(driver: ShopDriver) -> None:
    await driver.receive("B-1", 1, location="north")
    await driver.receive("A-1", 2, location="south")
    await driver.receive("B-1", 3, location="east")

    found = await levels(driver, "B-1", "A-1", "B-1")

    assert [(lv.sku, lv.location, lv.on_hand) for lv in found] == [
        ("A-1", "south", 2),
        ("B-1", "east", 3),
        ("B-1", "north", 1),
    ]
