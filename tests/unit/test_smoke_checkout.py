from __future__ import annotations

from shopcore import OrderStatus
from tests.support.driver import ShopDriver


async def test_a_customer_buys_a_stocked_product_and_the_stock_is_allocated(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.receive("TEE-M", 5)

    order = await driver.buy({"TEE-M": 2})

    assert order.status is OrderStatus.CONFIRMED
    assert order.totals.subtotal.amount == 5000
    assert await driver.available("TEE-M") == 3
    assert [n.subject for n in driver.notifier.sent] == [f"Your order {order.id} is confirmed"]
