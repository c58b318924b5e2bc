"""Optimistic concurrency in every unit of work: of two units that change one aggregate, the
later commit conflicts and loses every change it staged; a fresh unit can then apply its
change, and changes made one unit after another never conflict."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.cart.model import Cart, CartStatus, Quote
from shopcore.ordering.events import OrderCancelled, OrderPlaced
from shopcore.ordering.model import OrderStatus
from shopcore.shared.errors import ConcurrencyConflict
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import eur, read, write
from tests.contracts.ledger_steps import stock_snapshot

CONFLICT_CODES = {"concurrency-conflict", "transient-conflict"}


# -- optimistic concurrency ------------------------------------------------------------
async def test_the_later_of_two_concurrent_order_changes_conflicts(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))

    async with backend.uow() as first, backend.uow() as second:
        mine = await first.orders.get(order.id)
        theirs = await second.orders.get(order.id)
        assert mine is not None
        assert theirs is not None
        mine.confirm("payment-1", clock.advance(seconds=1))
        await first.commit()
        theirs.cancel("customer request", clock.advance(seconds=1))
        with pytest.raises(ConcurrencyConflict) as caught:
            await second.commit()
        assert list(second.collect_new_events()) == []

    assert caught.value.code in CONFLICT_CODES
    stored = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored == mine
    assert stored is not None
    assert stored.status is OrderStatus.CONFIRMED
    assert [change.to_status for change in stored.history] == [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.CONFIRMED,
    ]
    assert [type(event) for event in first.collect_new_events()] == [OrderPlaced]


async def test_the_later_of_two_concurrent_cart_changes_conflicts(
    backend: Backend, clock: ManualClock
) -> None:
    cart = b.cart(customer_id=new_id(), lines={"TEE-M": 1})
    await write(backend, lambda uow: uow.carts.add(cart))
    quote = Quote(sku="CAP-1", name="Cap", price=eur(900), sellable=True)

    async with backend.uow() as first, backend.uow() as second:
        mine = await first.carts.get(cart.id)
        theirs = await second.carts.get(cart.id)
        assert mine is not None
        assert theirs is not None
        mine.begin_checkout(new_id(), clock.advance(seconds=1), b.HOLD)
        await first.commit()
        theirs.add(quote, 3, clock.advance(seconds=1))
        with pytest.raises(ConcurrencyConflict) as caught:
            await second.commit()

    assert caught.value.code in CONFLICT_CODES
    stored = await read(backend, lambda uow: uow.carts.get(cart.id))
    assert stored == mine
    assert stored is not None
    assert stored.status is CartStatus.CHECKING_OUT
    assert stored.line("CAP-1") is None


async def test_a_conflict_discards_every_change_of_the_unit(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    cart = b.cart(customer_id=order.customer_id, lines={"TEE-M": 2})
    async with backend.uow() as uow:
        await uow.orders.add(order)
        await uow.carts.add(cart)
        await uow.stock.receive(b.movement("TEE-M", 10, at=clock.now()))
        await uow.commit()
    stock_before = await stock_snapshot(backend, "TEE-M", clock)
    newcomer = b.customer()

    async with backend.uow() as first, backend.uow() as second:
        mine = await first.orders.get(order.id)
        assert mine is not None
        their_cart = await second.carts.get(cart.id)
        their_order = await second.orders.get(order.id)
        assert their_cart is not None
        assert their_order is not None
        mine.cancel("customer request", clock.advance(seconds=1))
        await first.commit()

        their_cart.begin_checkout(order.id, clock.advance(seconds=1), b.HOLD)
        their_order.confirm("payment-1", clock.now())
        await second.customers.add(newcomer)
        await second.stock.receive(b.movement("TEE-M", 5, at=clock.now()))
        await second.stock.reserve(b.reservation([("TEE-M", 4)], now=clock.now()), clock.now())
        with pytest.raises(ConcurrencyConflict):
            await second.commit()

    stored_cart = await read(backend, lambda uow: uow.carts.get(cart.id))
    assert stored_cart == cart
    stored_order = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored_order is not None
    assert stored_order.status is OrderStatus.CANCELLED
    assert await read(backend, lambda uow: uow.customers.get(newcomer.id)) is None
    assert await stock_snapshot(backend, "TEE-M", clock) == stock_before


async def test_after_a_conflict_a_fresh_unit_can_apply_the_change(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))
    async with backend.uow() as first, backend.uow() as second:
        mine = await first.orders.get(order.id)
        theirs = await second.orders.get(order.id)
        assert mine is not None
        assert theirs is not None
        mine.confirm("payment-1", clock.advance(seconds=1))
        await first.commit()
        theirs.cancel("too slow", clock.now())
        with pytest.raises(ConcurrencyConflict):
            await second.commit()

    async with backend.uow() as retry:
        fresh = await retry.orders.get(order.id)
        assert fresh is not None
        fresh.cancel("customer request", clock.advance(seconds=1))
        await retry.commit()
        collected = list(retry.collect_new_events())

    stored = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored == fresh
    assert stored is not None
    assert stored.status is OrderStatus.CANCELLED
    assert [type(event) for event in collected] == [OrderCancelled]


async def test_successive_changes_in_successive_units_do_not_conflict(
    backend: Backend, clock: ManualClock
) -> None:
    order = b.order()
    await write(backend, lambda uow: uow.orders.add(order))

    for step in (
        lambda o: o.confirm("payment-1", clock.advance(seconds=1)),
        lambda o: o.start_shipping(clock.advance(seconds=1)),
        lambda o: o.ship(clock.advance(seconds=1)),
        lambda o: o.deliver(clock.advance(days=2)),
    ):
        async with backend.uow() as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            step(loaded)
            await uow.commit()

    stored = await read(backend, lambda uow: uow.orders.get(order.id))
    assert stored is not None
    assert stored.status is OrderStatus.DELIVERED
    assert stored.version > order.version


# -- one unit of work, several transactions ---------------------------------------------
# A checkout writes its cart in one transaction and again in the next, through the same unit;
# a unit may start the second from what it wrote in the first (the SQL units do, for carts),
# but never lose a change someone else committed in between.
async def cart_held_by_a_unit(
    backend: Backend, clock: ManualClock
) -> tuple[ShopUnitOfWork, Cart, str]:
    """A unit that held a cart for an order in its first transaction (a checkout's), the
    cart, and the order's id."""
    cart = b.cart(customer_id=new_id(), lines={"TEE-M": 1})
    await write(backend, lambda uow: uow.carts.add(cart))
    order_id = new_id()
    uow = backend.uow()
    async with uow:
        held = await uow.carts.get(cart.id)
        assert held is not None
        held.begin_checkout(order_id, clock.advance(seconds=1), b.HOLD)
        await uow.commit()
    return uow, cart, order_id


async def test_a_units_next_transaction_sees_its_own_committed_changes(
    backend: Backend, clock: ManualClock
) -> None:
    uow, cart, order_id = await cart_held_by_a_unit(backend, clock)

    async with uow:
        again = await uow.carts.get(cart.id)
        assert again is not None
        assert (again.status, again.order_id) == (CartStatus.CHECKING_OUT, order_id)
        again.complete_checkout(order_id, clock.advance(seconds=1))
        await uow.commit()

    stored = await read(backend, lambda other: other.carts.get(cart.id))
    assert stored is not None
    assert stored.status is CartStatus.CHECKED_OUT
    assert stored.version == again.version


async def test_a_change_committed_between_a_units_transactions_is_never_lost(
    backend: Backend, clock: ManualClock
) -> None:
    """Someone else changes the cart between the unit's two transactions: the unit's second
    either starts from their change or conflicts (and then, read again, does)."""
    uow, cart, order_id = await cart_held_by_a_unit(backend, clock)

    quote = Quote(sku="CAP-1", name="Cap", price=eur(900), sellable=True)

    async def abandon_and_add(other: ShopUnitOfWork) -> None:
        theirs = await other.carts.get(cart.id)
        assert theirs is not None
        theirs.abandon_checkout(order_id, clock.advance(seconds=1))
        theirs.add(quote, 3, clock.advance(seconds=1))

    await write(backend, abandon_and_add)

    attempts = 0
    while True:
        attempts += 1
        try:
            async with uow:
                mine = await uow.carts.get(cart.id)
                assert mine is not None
                mine.abandon_checkout(order_id, clock.advance(seconds=1))
                await uow.commit()
            break
        except ConcurrencyConflict:
            assert attempts == 1, "a unit that conflicted must read afresh"

    stored = await read(backend, lambda other: other.carts.get(cart.id))
    assert stored is not None
    assert (stored.status, stored.order_id) == (CartStatus.OPEN, None)
    line = stored.line("CAP-1")
    assert line is not None and line.quantity == 3  # their change kept
