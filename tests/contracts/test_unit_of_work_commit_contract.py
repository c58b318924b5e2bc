"""What every unit of work must do with the work staged in it: commit saves all of it
together; leaving without commit, rolling back or raising discards all of it, stock changes
included; and inside one unit an aggregate is one object and the unit sees its own changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.catalog.events import ProductArchived, ProductCreated
from shopcore.catalog.model import ProductStatus
from shopcore.inventory.model import MovementKind, ReservationStatus
from shopcore.shared.aggregate import Aggregate
from tests.contracts import builders as b
from tests.contracts.aggregate_kinds import KIND_IDS, KINDS
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write
from tests.contracts.ledger_steps import stock_snapshot


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
