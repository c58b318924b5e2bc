"""Reading orders: a customer sees only their own; staff see all, newest first, page by page."""

from __future__ import annotations

import pytest

from shopcore import InvalidInput, OrderStatus, ShipOrder
from shopcore.customers.model import Customer
from shopcore.ordering.model import Order
from shopcore.ordering.queries import get_order, list_orders
from shopcore.shared.ids import new_id
from shopcore.shared.pagination import encode_cursor
from tests.support.driver import ShopDriver


async def orders_of(driver: ShopDriver, customer: Customer, count: int) -> list[Order]:
    return [
        await driver.checkout(customer, await driver.cart(customer, {"TEE-M": 1}))
        for _ in range(count)
    ]


@pytest.fixture
async def stocked(driver: ShopDriver) -> ShopDriver:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 100)
    return driver


async def test_the_owner_reads_their_order(stocked: ShopDriver) -> None:
    customer = await stocked.customer()
    (order,) = await orders_of(stocked, customer, 1)

    found = await get_order(stocked.shop.uow(), order.id, customer.id)

    assert found is not None
    assert (found.id, found.status, found.total) == (order.id, OrderStatus.CONFIRMED, order.total)


async def test_another_customer_cannot_read_the_order(stocked: ShopDriver) -> None:
    owner = await stocked.customer()
    stranger = await stocked.customer()
    (order,) = await orders_of(stocked, owner, 1)

    assert await get_order(stocked.shop.uow(), order.id, stranger.id) is None


async def test_staff_read_any_order(stocked: ShopDriver) -> None:
    (order,) = await orders_of(stocked, await stocked.customer(), 1)

    found = await get_order(stocked.shop.uow(), order.id, None)

    assert found is not None
    assert found.id == order.id


async def test_an_unknown_order_reads_as_none(driver: ShopDriver) -> None:
    assert await get_order(driver.shop.uow(), new_id(), None) is None


async def test_a_customer_lists_only_their_own_orders(stocked: ShopDriver) -> None:
    ada = await stocked.customer()
    bob = await stocked.customer()
    mine = await orders_of(stocked, ada, 2)
    await orders_of(stocked, bob, 1)

    page = await list_orders(stocked.shop.uow(), customer_id=ada.id)

    assert sorted(order.id for order in page.items) == sorted(order.id for order in mine)
    assert page.next_cursor is None


async def test_staff_list_every_order_newest_first(stocked: ShopDriver) -> None:
    placed = await orders_of(stocked, await stocked.customer(), 2)
    placed += await orders_of(stocked, await stocked.customer(), 1)

    page = await list_orders(stocked.shop.uow(), customer_id=None)

    ids = [order.id for order in page.items]
    # Newest first means by id, descending: UUIDv7 ids carry their creation millisecond.
    assert ids == sorted((order.id for order in placed), reverse=True)


async def test_orders_filter_by_status(stocked: ShopDriver) -> None:
    customer = await stocked.customer()
    first, second = await orders_of(stocked, customer, 2)
    await stocked.handle(ShipOrder(order_id=first.id))

    shipped = await list_orders(
        stocked.shop.uow(), customer_id=customer.id, status=OrderStatus.SHIPPED
    )
    confirmed = await list_orders(
        stocked.shop.uow(), customer_id=None, status=OrderStatus.CONFIRMED
    )

    assert [order.id for order in shipped.items] == [first.id]
    assert [order.id for order in confirmed.items] == [second.id]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(stocked: ShopDriver) -> None:
    customer = await stocked.customer()
    placed = await orders_of(stocked, customer, 5)
    seen: list[list[str]] = []
    cursor: str | None = None

    while True:
        page = await list_orders(
            stocked.shop.uow(), customer_id=customer.id, cursor=cursor, limit=2
        )
        seen.append([order.id for order in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert [len(ids) for ids in seen] == [2, 2, 1]
    flat = [order_id for ids in seen for order_id in ids]
    assert flat == sorted((order.id for order in placed), reverse=True)


async def test_a_page_exactly_full_has_no_next_cursor(stocked: ShopDriver) -> None:
    customer = await stocked.customer()
    await orders_of(stocked, customer, 2)

    page = await list_orders(stocked.shop.uow(), customer_id=customer.id, limit=2)

    assert len(page.items) == 2
    assert page.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [encode_cursor("not-an-id"), "!!!", "x" * 201],
    ids=["not-an-id", "not-base64", "too-long"],
)
async def test_a_malformed_cursor_is_refused(driver: ShopDriver, cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor is malformed") as caught:
        await list_orders(driver.shop.uow(), customer_id=None, cursor=cursor)

    assert caught.value.code == "invalid-input"


@pytest.mark.parametrize("limit", [0, 101])
async def test_the_page_size_is_bounded(driver: ShopDriver, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        await list_orders(driver.shop.uow(), customer_id=None, limit=limit)
