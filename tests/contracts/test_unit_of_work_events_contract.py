"""How every unit of work hands over domain events: only for committed work, each event once,
in the order an aggregate recorded them; the events of work left or rolled back never come
out."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from shopcore.catalog.events import ProductCreated
from shopcore.customers.events import CustomerRegistered
from shopcore.inventory.events import ReservationExpired
from shopcore.ordering.events import OrderPlaced, OrderShipped
from shopcore.ordering.model import OrderStatus
from shopcore.payments.events import PaymentAuthorized
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Event
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write


def same_events(got: list[Event], expected: list[Event]) -> bool:
    """Equal as collections: the order across aggregates is not part of the contract."""
    return sorted(got, key=lambda e: e.event_id) == sorted(expected, key=lambda e: e.event_id)


# -- events --------------------------------------------------------------------------------
async def test_events_are_collected_only_after_commit(backend: Backend) -> None:
    product = b.product()
    customer = b.customer()
    expired = ReservationExpired(reservation_id=new_id())
    recorded = [*product.events, *customer.events, expired]

    async with backend.uow() as uow:
        await uow.products.add(product)
        await uow.customers.add(customer)
        uow.emit(expired)
        assert list(uow.collect_new_events()) == []
        await uow.commit()
        collected = list(uow.collect_new_events())

    assert same_events(collected, recorded)
    assert {type(event) for event in collected} == {
        ProductCreated,
        CustomerRegistered,
        ReservationExpired,
    }


async def test_events_are_handed_over_once(backend: Backend) -> None:
    async with backend.uow() as uow:
        await uow.products.add(b.product())
        uow.emit(ReservationExpired(reservation_id=new_id()))
        await uow.commit()
        first = list(uow.collect_new_events())
        second = list(uow.collect_new_events())

    assert len(first) == 2
    assert second == []


async def test_events_of_a_unit_left_without_commit_are_never_collected(
    backend: Backend,
) -> None:
    uow = backend.uow()
    async with uow:
        await uow.products.add(b.product())
        uow.emit(ReservationExpired(reservation_id=new_id()))

    assert list(uow.collect_new_events()) == []


async def test_events_of_a_rolled_back_unit_stay_out_of_a_later_commit(
    backend: Backend,
) -> None:
    kept = b.product()
    async with backend.uow() as uow:
        await uow.products.add(b.product())
        uow.emit(ReservationExpired(reservation_id=new_id()))
        await uow.rollback()
        await uow.products.add(kept)
        await uow.commit()
        collected = list(uow.collect_new_events())

    assert [type(event) for event in collected] == [ProductCreated]
    assert collected[0].product_id == kept.id


async def test_events_of_loaded_aggregates_are_collected_in_the_order_recorded(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))

    async with backend.uow() as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.confirm(new_id(), clock.advance(minutes=1))
        loaded.start_shipping(clock.now())
        loaded.ship(clock.advance(hours=1))
        await uow.commit()
        collected = list(uow.collect_new_events())

    assert [type(event) for event in collected] == [OrderPlaced, OrderShipped]
    assert all(event.order_id == order.id for event in collected)


async def test_events_of_every_commit_of_a_unit_are_collected(backend: Backend) -> None:
    first, second = b.product(), b.payment()
    uow = backend.uow()
    async with uow:
        await uow.products.add(first)
        await uow.commit()
    async with uow:
        await uow.payments.add(second)
        await uow.commit()

    collected = list(uow.collect_new_events())
    assert [type(event) for event in collected] == [ProductCreated, PaymentAuthorized]


async def test_aggregates_read_back_after_commit_carry_no_events(backend: Backend) -> None:
    order = b.order()
    order.cancel("changed my mind", b.START)
    assert order.events  # the cancellation is pending until commit
    await write(backend, lambda uow: uow.orders.add(order))

    stored = await read(backend, lambda uow: uow.orders.get(order.id))

    assert stored is not None
    assert stored.events == []
    assert stored.status is OrderStatus.CANCELLED
