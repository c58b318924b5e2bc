"""What every order repository must do: store an order whole through its life (history,
refunds) and page orders newest first, by customer and by status."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.ordering.model import Order, OrderStatus
from shopcore.shared.errors import ConcurrencyConflict
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur, ids_of, read, write


# -- orders --------------------------------------------------------------------------------
async def test_an_order_reads_back_exactly_as_written(backend: Backend) -> None:
    order = b.order(lines={"TEE-M": 2, "CAP-1": 1, "MUG-1": 3})
    await write(backend, lambda uow: uow.orders.add(order))

    stored = await read(backend, lambda uow: uow.orders.get(order.id))

    assert stored == order
    assert stored is not None
    assert stored.shipping_address == b.ADDRESS
    assert stored.totals == order.totals
    assert stored.events == []


async def test_an_order_keeps_its_history_and_refunds_through_its_life(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))
    steps = [
        lambda o: o.confirm(new_id(), clock.advance(seconds=5)),
        lambda o: o.start_shipping(clock.advance(hours=3)),
        lambda o: o.ship(clock.advance(minutes=1)),
        lambda o: o.deliver(clock.advance(days=2)),
        lambda o: o.begin_refund("refund-1", eur(500)),
        lambda o: o.complete_refund("refund-1", clock.advance(days=1)),
        lambda o: o.begin_refund("refund-2", eur(700)),  # booked, not yet completed
    ]
    for step in steps:
        async with backend.uow() as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            step(loaded)
            await uow.commit()

    stored = await read(backend, lambda uow: uow.orders.get(order.id))

    assert stored == loaded
    assert stored is not None
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert [change.to_status for change in stored.history] == [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.CONFIRMED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED,
    ]
    assert stored.refunded == eur(500)
    assert stored.refund_pending == eur(700)
    assert stored.shipping_started_at is not None


async def test_an_adopted_order_commits_its_changes_without_being_read(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))

    async with backend.uow() as uow:
        uow.orders.adopt(order)  # the copy this process committed, taken unread
        order.confirm("pay-1", clock.advance(seconds=5))
        await uow.commit()

    stored = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored is not None and stored.status is OrderStatus.CONFIRMED
    assert stored.version == order.version


async def test_an_adopted_copy_changed_since_fails_its_version_check(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))
    async with backend.uow() as uow:  # someone else cancels it meanwhile
        theirs = await uow.orders.get(order.id)
        assert theirs is not None
        theirs.cancel("customer", clock.advance(seconds=1))
        await uow.commit()

    with pytest.raises(ConcurrencyConflict):
        async with backend.uow() as uow:
            uow.orders.adopt(order)
            order.confirm("pay-1", clock.advance(seconds=5))
            await uow.commit()

    stored = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored is not None and stored.status is OrderStatus.CANCELLED


async def orders_of_three_customers(backend: Backend, clock: ManualClock) -> list[Order]:
    """Seven orders, ids ascending: ada has 0, 2, 4, 6; bob 1, 5; cy 3. 2 and 5 confirmed."""
    ids = b.ascending_ids(7)
    ada, bob, cy = new_id(), new_id(), new_id()
    owners = [ada, bob, ada, cy, ada, bob, ada]
    orders = [b.order(id=i, customer_id=owner) for i, owner in zip(ids, owners, strict=True)]
    for confirmed in (orders[2], orders[5]):
        confirmed.confirm(new_id(), clock.now())
    await add_all(backend, *orders)
    return orders


async def order_page(
    backend: Backend,
    *,
    customer_id: str | None = None,
    status: OrderStatus | None = None,
    before: str | None = None,
    limit: int = 100,
) -> list[Order]:
    return await read(
        backend,
        lambda uow: uow.orders.page(
            customer_id=customer_id, status=status, before=before, limit=limit
        ),
    )


async def test_order_page_lists_every_order_newest_first(
    backend: Backend, clock: ManualClock
) -> None:
    orders = await orders_of_three_customers(backend, clock)

    assert await order_page(backend) == orders[::-1]


async def test_order_page_filters_by_customer(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    ada = orders[0].customer_id

    assert await order_page(backend, customer_id=ada) == [
        orders[6],
        orders[4],
        orders[2],
        orders[0],
    ]
    assert await order_page(backend, customer_id=new_id()) == []


async def test_order_page_filters_by_status(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)

    confirmed = await order_page(backend, status=OrderStatus.CONFIRMED)
    pending = await order_page(backend, status=OrderStatus.PENDING_PAYMENT)

    assert confirmed == [orders[5], orders[2]]
    assert pending == [orders[6], orders[4], orders[3], orders[1], orders[0]]
    assert await order_page(backend, status=OrderStatus.REFUNDED) == []


async def test_order_page_filters_by_customer_and_status_together(
    backend: Backend, clock: ManualClock
) -> None:
    orders = await orders_of_three_customers(backend, clock)

    found = await order_page(
        backend, customer_id=orders[1].customer_id, status=OrderStatus.CONFIRMED
    )

    assert found == [orders[5]]


async def test_order_page_follows_a_status_change(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    async with backend.uow() as uow:
        loaded = await uow.orders.get(orders[2].id)
        assert loaded is not None
        loaded.cancel("customer request", clock.advance(minutes=1))
        await uow.commit()

    assert await order_page(backend, status=OrderStatus.CONFIRMED) == [orders[5]]
    assert await order_page(backend, status=OrderStatus.CANCELLED) == [loaded]


async def test_order_page_honours_before_and_limit(backend: Backend, clock: ManualClock) -> None:
    orders = await orders_of_three_customers(backend, clock)
    ada = orders[0].customer_id

    first = await order_page(backend, customer_id=ada, limit=2)
    second = await order_page(backend, customer_id=ada, before=first[-1].id, limit=2)
    third = await order_page(backend, customer_id=ada, before=second[-1].id, limit=2)

    assert ids_of(first) == [orders[6].id, orders[4].id]
    assert ids_of(second) == [orders[2].id, orders[0].id]
    assert third == []
    assert ids_of(await order_page(backend, before=orders[3].id)) == ids_of(orders[2::-1])
