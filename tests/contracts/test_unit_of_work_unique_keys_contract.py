"""Unique keys in every unit of work: an id, a product slug, a SKU and an email (whatever its
case) are taken once; a clash raises AlreadyExists no later than commit and stores nothing,
also between aggregates staged in one unit and between two units that race."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.cart.model import Cart
from shopcore.catalog.model import Product
from shopcore.customers.model import Customer
from shopcore.ordering.model import Order
from shopcore.payments.model import Payment
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.aggregate_kinds import KIND_IDS, KINDS
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write


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
