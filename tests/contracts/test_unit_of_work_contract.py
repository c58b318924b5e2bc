"""What every unit of work must do: atomic commits, rollback by default, events handed over
only for committed work, optimistic concurrency and unique keys."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.cart.model import Cart, CartStatus, Quote
from shopcore.catalog.events import ProductArchived, ProductCreated
from shopcore.catalog.model import Product, ProductStatus
from shopcore.customers.events import CustomerRegistered
from shopcore.customers.model import Customer
from shopcore.inventory.events import ReservationExpired
from shopcore.inventory.model import MovementKind, ReservationStatus
from shopcore.ordering.events import OrderCancelled, OrderPlaced, OrderShipped
from shopcore.ordering.model import Order, OrderStatus
from shopcore.payments.events import PaymentAuthorized
from shopcore.payments.model import Payment
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Event
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import eur, read, write

CONFLICT_CODES = {"concurrency-conflict", "transient-conflict"}

# (kind, a fresh aggregate, the repository that stores it)
KINDS: list[tuple[str, Callable[[], Aggregate], Callable[[ShopUnitOfWork], Any]]] = [
    ("product", b.product, lambda uow: uow.products),
    ("customer", b.customer, lambda uow: uow.customers),
    ("cart", lambda: b.cart(customer_id=new_id(), lines={"TEE-M": 1}), lambda uow: uow.carts),
    ("order", b.order, lambda uow: uow.orders),
    ("payment", b.payment, lambda uow: uow.payments),
]
KIND_IDS = [kind for kind, _, _ in KINDS]


def same_events(got: list[Event], expected: list[Event]) -> bool:
    """Equal as collections: the order across aggregates is not part of the contract."""
    return sorted(got, key=lambda e: e.event_id) == sorted(expected, key=lambda e: e.event_id)


async def stock_snapshot(backend: Backend, sku: str, clock: ManualClock) -> tuple[Any, ...]:
    async with backend.uow() as uow:
        return (
            await uow.stock.levels([sku], clock.now()),
            await uow.stock.movements(sku),
        )


# -- commit and rollback ------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "build", "repo"), KINDS, ids=KIND_IDS)
async def test_commit_persists_a_new_aggregate(
    backend: Backend,
    kind: str,
    build: Callable[[], Aggregate],
    repo: Callable[[ShopUnitOfWork], Any],
) -> None:
    aggregate = build()
    async with backend.uow() as uow:
        await repo(uow).add(aggregate)
        await uow.commit()

    stored = await read(backend, lambda uow: repo(uow).get(aggregate.id))

    assert stored == aggregate
    assert stored is not aggregate


@pytest.mark.parametrize(("kind", "build", "repo"), KINDS, ids=KIND_IDS)
async def test_leaving_without_commit_discards_a_new_aggregate(
    backend: Backend,
    kind: str,
    build: Callable[[], Aggregate],
    repo: Callable[[ShopUnitOfWork], Any],
) -> None:
    aggregate = build()
    async with backend.uow() as uow:
        await repo(uow).add(aggregate)

    assert await read(backend, lambda uow: repo(uow).get(aggregate.id)) is None


async def test_leaving_without_commit_discards_changes_to_a_loaded_aggregate(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.archive(clock.advance(minutes=1))

    stored = await read(backend, lambda uow: uow.products.get(product.id))
    assert stored is not None
    assert stored.status is ProductStatus.ACTIVE
    assert stored == product


async def test_leaving_without_commit_discards_every_stock_change(
    backend: Backend, clock: ManualClock
) -> None:
    await write(backend, lambda uow: uow.stock.receive(b.movement("TEE-M", 10, at=clock.now())))
    shipped = b.reservation([("TEE-M", 2)], now=clock.now())
    async with backend.uow() as uow:
        await uow.stock.reserve(shipped, clock.now())
        await uow.stock.allocate(shipped.id, clock.now())
        await uow.stock.ship(shipped.id, clock.now())
        await uow.commit()
    lapsing = b.reservation([("TEE-M", 1)], now=clock.now())
    await write(backend, lambda uow: uow.stock.reserve(lapsing, clock.now()))
    before = await stock_snapshot(backend, "TEE-M", clock)
    held = b.reservation([("TEE-M", 3)], now=clock.now())

    async with backend.uow() as uow:
        await uow.stock.receive(b.movement("TEE-M", 5, at=clock.now()))
        await uow.stock.receive(b.movement("CAP-1", 4, at=clock.now()))
        await uow.stock.adjust(
            b.movement("TEE-M", -1, at=clock.now(), kind=MovementKind.ADJUSTED), clock.now()
        )
        await uow.stock.reserve(held, clock.now())
        await uow.stock.allocate(held.id, clock.now())
        swept = await uow.stock.expire(lapsing.expires_at, 10)
        assert [reservation.id for reservation in swept] == [lapsing.id]

    assert await stock_snapshot(backend, "TEE-M", clock) == before
    assert await stock_snapshot(backend, "CAP-1", clock) == ([], [])
    assert await read(backend, lambda uow: uow.stock.reservation(held.id)) is None
    assert await read(backend, lambda uow: uow.stock.reservation(lapsing.id)) == lapsing


async def test_leaving_without_commit_undoes_reservation_state_changes(
    backend: Backend, clock: ManualClock
) -> None:
    await write(backend, lambda uow: uow.stock.receive(b.movement("TEE-M", 10, at=clock.now())))
    active = b.reservation([("TEE-M", 2)], now=clock.now())
    allocated = b.reservation([("TEE-M", 3)], now=clock.now())
    async with backend.uow() as uow:
        await uow.stock.reserve(active, clock.now())
        await uow.stock.reserve(allocated, clock.now())
        await uow.stock.allocate(allocated.id, clock.now())
        await uow.commit()
    before = await stock_snapshot(backend, "TEE-M", clock)

    async with backend.uow() as uow:
        await uow.stock.release(active.id, clock.now())
        await uow.stock.ship(allocated.id, clock.now())

    assert await stock_snapshot(backend, "TEE-M", clock) == before
    stored_active = await read(backend, lambda uow: uow.stock.reservation(active.id))
    stored_allocated = await read(backend, lambda uow: uow.stock.reservation(allocated.id))
    assert stored_active is not None
    assert stored_active.status is ReservationStatus.ACTIVE
    assert stored_allocated is not None
    assert stored_allocated.status is ReservationStatus.ALLOCATED


async def test_an_error_inside_the_unit_propagates_and_nothing_lands(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with backend.uow() as uow:
            await uow.products.add(product)
            await uow.stock.receive(b.movement(product.skus[0], 5, at=clock.now()))
            raise Boom

    assert await read(backend, lambda uow: uow.products.get(product.id)) is None
    assert await stock_snapshot(backend, product.skus[0], clock) == ([], [])


async def test_rollback_discards_staged_work_so_a_later_commit_saves_nothing(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()
    async with backend.uow() as uow:
        await uow.products.add(product)
        await uow.stock.receive(b.movement(product.skus[0], 5, at=clock.now()))
        await uow.rollback()
        await uow.commit()

    assert await read(backend, lambda uow: uow.products.get(product.id)) is None
    assert await stock_snapshot(backend, product.skus[0], clock) == ([], [])


async def test_commit_saves_changes_made_to_loaded_aggregates(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(name="Renamed tee", currency=b.CURRENCY, now=clock.advance(minutes=1))
        await uow.commit()

    stored = await read(backend, lambda uow: uow.products.get(product.id))
    assert stored == loaded
    assert stored is not None
    assert stored.name == "Renamed tee"
    assert stored.updated_at == clock.now()


async def test_commit_saves_every_aggregate_and_stock_change_of_the_unit_together(
    backend: Backend, clock: ManualClock
) -> None:
    customer = b.customer()
    cart = b.cart(customer_id=customer.id, lines={"TEE-M": 2})
    async with backend.uow() as uow:
        await uow.customers.add(customer)
        await uow.carts.add(cart)
        await uow.stock.receive(b.movement("TEE-M", 7, at=clock.now()))
        await uow.commit()

    assert await read(backend, lambda uow: uow.customers.get(customer.id)) == customer
    assert await read(backend, lambda uow: uow.carts.get(cart.id)) == cart
    levels, movements = await stock_snapshot(backend, "TEE-M", clock)
    assert [(level.on_hand, level.available) for level in levels] == [(7, 7)]
    assert len(movements) == 1


async def test_a_unit_can_be_entered_again_after_it_was_left(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()
    uow = backend.uow()
    async with uow:
        await uow.products.add(product)
        await uow.commit()
    async with uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.archive(clock.advance(minutes=1))
        await uow.commit()
    async with uow:
        await uow.products.add(b.product())  # left without commit: discarded

    stored = await read(backend, lambda fresh: fresh.products.get(product.id))
    assert stored is not None
    assert stored.status is ProductStatus.ARCHIVED
    events = list(uow.collect_new_events())
    assert [type(event) for event in events] == [ProductCreated, ProductArchived]


async def test_loading_an_aggregate_twice_in_one_unit_gives_the_same_object(
    backend: Backend,
) -> None:
    # Two copies of one row in a unit would make it lose one copy's changes or conflict
    # with itself at commit.
    product = b.product()
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        first = await uow.products.get(product.id)
        by_slug = await uow.products.get_by_slug(product.slug)
        again = await uow.products.get(product.id)

    assert first is not None
    assert again is first
    assert by_slug is first


async def test_an_aggregate_added_in_a_unit_is_found_there_before_commit(
    backend: Backend,
) -> None:
    product = b.product()
    async with backend.uow() as uow:
        await uow.products.add(product)
        assert await uow.products.get(product.id) is product


async def test_stock_reads_inside_a_unit_see_that_units_changes(
    backend: Backend, clock: ManualClock
) -> None:
    # Inventory handlers announce the totals they just changed, read in the same unit.
    held = b.reservation([("TEE-M", 3)], now=clock.now())
    async with backend.uow() as uow:
        await uow.stock.receive(b.movement("TEE-M", 10, at=clock.now()))
        await uow.stock.reserve(held, clock.now())
        levels = await uow.stock.levels(["TEE-M"], clock.now())
        stored = await uow.stock.reservation(held.id)
        trail = await uow.stock.movements("TEE-M")

    assert [(level.on_hand, level.reserved, level.available) for level in levels] == [(10, 3, 7)]
    assert stored == held
    assert [entry.delta for entry in trail] == [10]


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


# -- unique keys ---------------------------------------------------------------------------
async def expect_clash(backend: Backend, *staged: Aggregate) -> None:
    """AlreadyExists no later than commit (an adapter may notice at add or at commit)."""
    with pytest.raises(AlreadyExists) as caught:
        async with backend.uow() as uow:
            for aggregate in staged:
                await _repository_of(uow, aggregate).add(aggregate)
            await uow.commit()
    assert caught.value.code == "already-exists"


def _repository_of(uow: ShopUnitOfWork, aggregate: Aggregate) -> Any:
    repositories: dict[type[Aggregate], Any] = {
        Product: uow.products,
        Customer: uow.customers,
        Cart: uow.carts,
        Order: uow.orders,
        Payment: uow.payments,
    }
    return repositories[type(aggregate)]


def _same_id_other_content(kind: str, original: Any) -> Aggregate:
    if kind == "product":
        return b.product(id=original.id)
    if kind == "customer":
        return b.customer(id=original.id)
    if kind == "cart":
        return b.cart(id=original.id, customer_id=new_id(), lines={"CAP-1": 2})
    if kind == "order":
        return b.order(id=original.id, lines={"CAP-1": 5})
    return b.payment(id=original.id, amount=99)


@pytest.mark.parametrize(("kind", "build", "repo"), KINDS, ids=KIND_IDS)
async def test_adding_an_aggregate_whose_id_exists_fails(
    backend: Backend,
    kind: str,
    build: Callable[[], Aggregate],
    repo: Callable[[ShopUnitOfWork], Any],
) -> None:
    original = build()
    await write(backend, lambda uow: repo(uow).add(original))

    await expect_clash(backend, _same_id_other_content(kind, original))

    assert await read(backend, lambda uow: repo(uow).get(original.id)) == original


@pytest.mark.parametrize(("kind", "build", "repo"), KINDS, ids=KIND_IDS)
async def test_adding_one_id_twice_in_one_unit_fails(
    backend: Backend,
    kind: str,
    build: Callable[[], Aggregate],
    repo: Callable[[ShopUnitOfWork], Any],
) -> None:
    original = build()

    await expect_clash(backend, original, _same_id_other_content(kind, original))

    assert await read(backend, lambda uow: repo(uow).get(original.id)) is None


async def test_a_taken_email_fails_whatever_its_case(backend: Backend) -> None:
    first = b.customer(email="ada@example.com")
    await write(backend, lambda uow: uow.customers.add(first))
    clash = b.customer(email="  ADA@Example.COM ")

    await expect_clash(backend, clash)

    assert await read(backend, lambda uow: uow.customers.get(clash.id)) is None
    assert await read(backend, lambda uow: uow.customers.get_by_email("ada@example.com")) == first


async def test_a_taken_slug_fails(backend: Backend) -> None:
    first = b.product(slug="classic-tee")
    await write(backend, lambda uow: uow.products.add(first))
    clash = b.product(slug="classic-tee")

    await expect_clash(backend, clash)

    assert await read(backend, lambda uow: uow.products.get(clash.id)) is None
    assert await read(backend, lambda uow: uow.products.get_by_slug("classic-tee")) == first


async def test_a_taken_sku_fails_even_when_only_one_variant_clashes(backend: Backend) -> None:
    first = b.product(skus=["TEE-S", "TEE-M"])
    await write(backend, lambda uow: uow.products.add(first))
    clash = b.product(skus=["TEE-L", "TEE-M", "TEE-XL"])

    await expect_clash(backend, clash)

    assert await read(backend, lambda uow: uow.products.get(clash.id)) is None
    assert await read(backend, lambda uow: uow.products.taken_skus(["TEE-L", "TEE-XL"])) == []


async def test_unique_keys_clash_between_aggregates_staged_in_one_unit(
    backend: Backend,
) -> None:
    by_slug = (b.product(slug="twin"), b.product(slug="twin"))
    by_sku = (b.product(skus=["TWIN-1"]), b.product(skus=["TWIN-1"]))
    by_email = (b.customer(email="twin@example.com"), b.customer(email="twin@example.com"))

    for pair in (by_slug, by_sku, by_email):
        await expect_clash(backend, *pair)

    for product in (*by_slug, *by_sku):
        assert await read(backend, lambda uow, p=product: uow.products.get(p.id)) is None
    for customer in by_email:
        assert await read(backend, lambda uow, c=customer: uow.customers.get(c.id)) is None


async def test_changing_a_product_to_a_taken_slug_fails_at_commit_at_the_latest(
    backend: Backend, clock: ManualClock
) -> None:
    taken, mover = b.product(slug="taken"), b.product(slug="mover")
    async with backend.uow() as uow:
        await uow.products.add(taken)
        await uow.products.add(mover)
        await uow.commit()

    with pytest.raises(AlreadyExists) as caught:
        async with backend.uow() as uow:
            loaded = await uow.products.get(mover.id)
            assert loaded is not None
            loaded.update(slug="taken", currency=b.CURRENCY, now=clock.advance(minutes=1))
            await uow.commit()

    assert caught.value.code == "already-exists"
    assert await read(backend, lambda uow: uow.products.get(mover.id)) == mover
    assert await read(backend, lambda uow: uow.products.get_by_slug("taken")) == taken


async def test_of_two_concurrent_registrations_of_one_email_exactly_one_lands(
    backend: Backend,
) -> None:
    rivals = [b.customer(email="race@example.com"), b.customer(email="race@example.com")]
    staged = asyncio.Event()

    async def first() -> None:
        async with backend.uow() as uow:
            await uow.customers.add(rivals[0])
            # Let the rival stage its row too; an adapter whose insert waits on this one's
            # lock simply lets the wait run out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(staged.wait(), timeout=0.2)
            await uow.commit()

    async def second() -> None:
        await asyncio.sleep(0)
        async with backend.uow() as uow:
            await uow.customers.add(rivals[1])
            staged.set()
            await uow.commit()

    outcomes = await asyncio.gather(first(), second(), return_exceptions=True)

    failures = [outcome for outcome in outcomes if outcome is not None]
    assert len(failures) == 1
    assert isinstance(failures[0], AlreadyExists)
    assert failures[0].code == "already-exists"
    stored = await read(backend, lambda uow: uow.customers.get_by_email("race@example.com"))
    winner = rivals[outcomes.index(None)]
    assert stored == winner
    loser = rivals[1 - outcomes.index(None)]
    assert await read(backend, lambda uow: uow.customers.get(loser.id)) is None
