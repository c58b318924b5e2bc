"""The embedded default under load: concurrent checkouts in one process on an SQLite file
share the stock exactly and never surface a lock error to a buyer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.settings import Settings
from shopcore import CancelOrder, OrderStatus, ShipOrder
from shopcore.shared.errors import OutOfStock
from tests.support.databases import fresh_sqlite
from tests.support.driver import ShopDriver, build_driver

pytestmark = pytest.mark.sqlite


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[ShopDriver]:
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    shop = build_driver(Settings(database_url=url, database_pool_size=5))
    yield shop
    await shop.close()


async def test_sixty_buyers_share_twenty_five_units(driver: ShopDriver) -> None:
    await driver.product("LITE-1", price=900)
    await driver.receive("LITE-1", 25)
    buyers = [await driver.customer() for _ in range(60)]
    carts = [await driver.cart(buyer, {"LITE-1": 1}) for buyer in buyers]
    results = await asyncio.gather(
        *(driver.checkout(buyer, cart) for buyer, cart in zip(buyers, carts, strict=True)),
        return_exceptions=True,
    )
    won = [result for result in results if not isinstance(result, BaseException)]
    lost = [result for result in results if isinstance(result, BaseException)]
    assert len(won) == 25
    assert all(order.status is OrderStatus.CONFIRMED for order in won)
    assert all(isinstance(error, OutOfStock) for error in lost), lost[:3]
    assert await driver.available("LITE-1") == 0
    assert sum(1 for charge in driver.gateway.charges.values() if not charge.voided) == 25


async def test_an_order_lives_through_shipping_and_cancellation_on_sqlite(
    driver: ShopDriver,
) -> None:
    await driver.product("LITE-2", price=1200)
    await driver.receive("LITE-2", 5)
    shipped = await driver.buy({"LITE-2": 2})
    cancelled = await driver.buy({"LITE-2": 1})
    after_ship = await driver.handle(ShipOrder(order_id=shipped.id))
    after_cancel = await driver.handle(
        CancelOrder(order_id=cancelled.id, customer_id=None, reason="changed mind")
    )
    assert after_ship.status is OrderStatus.SHIPPED
    assert after_cancel.status is OrderStatus.CANCELLED
    assert await driver.available("LITE-2") == 3
    assert driver.gateway.captured_total == shipped.totals.total.amount
