"""What every product repository must do: store a product whole (variants in their order,
changes, archival, a new slug), find it by id and by slug, and say which SKUs are taken and
by which products."""

from __future__ import annotations

from adapters.memory.clock import ManualClock
from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur, read, write


# -- products: round trips -----------------------------------------------------------------
async def test_a_product_reads_back_exactly_as_written(backend: Backend) -> None:
    product = Product.create(
        id=new_id(),
        name="Ünïcode Tee — “limited”",
        slug="unicode-tee",
        description="Line one\nLine two\twith a tab; 100 % cotton",
        category="shirts",
        variants=(
            Variant(sku="TEE-S", price=eur(1999), attributes={"size": "S", "Farbe": "Grün"}),
            Variant(sku="TEE-M", price=eur(2099), attributes={"size": "M"}),
            Variant(sku="TEE-L", price=eur(100_000_000)),
        ),
        currency=b.CURRENCY,
        now=b.START,
    )
    await write(backend, lambda uow: uow.products.add(product))

    by_id = await read(backend, lambda uow: uow.products.get(product.id))
    by_slug = await read(backend, lambda uow: uow.products.get_by_slug("unicode-tee"))

    assert by_id == product
    assert by_slug == product
    assert by_id is not None
    assert by_id.events == []
    assert by_id.skus == ("TEE-S", "TEE-M", "TEE-L")  # variant order is kept
    assert by_id.created_at.utcoffset() is not None


async def test_a_changed_and_archived_product_reads_back_exactly(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["MUG-1", "MUG-2"], prices=[900, 1100])
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(
            name="Mug, large",
            description="",
            category="kitchen",
            variants=(
                Variant(sku="MUG-2", price=eur(1250), attributes={"volume": "500 ml"}),
                Variant(sku="MUG-3", price=eur(1500)),
            ),
            currency=b.CURRENCY,
            now=clock.advance(hours=2),
        )
        await uow.commit()
    async with backend.uow() as uow:
        archived = await uow.products.get(product.id)
        assert archived is not None
        archived.archive(clock.advance(days=1))
        await uow.commit()

    stored = await read(backend, lambda uow: uow.products.get(product.id))

    assert stored == archived
    assert stored is not None
    assert stored.status is ProductStatus.ARCHIVED
    assert stored.skus == ("MUG-2", "MUG-3")
    assert stored.description == ""
    assert stored.updated_at == clock.now()
    assert stored.events == []


async def test_unknown_products_read_as_none(backend: Backend) -> None:
    await write(backend, lambda uow: uow.products.add(b.product(slug="known")))

    assert await read(backend, lambda uow: uow.products.get(new_id())) is None
    assert await read(backend, lambda uow: uow.products.get_by_slug("unknown")) is None


async def test_a_changed_slug_is_found_under_the_new_one_and_frees_the_old(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(slug="old-name")
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(slug="new-name", currency=b.CURRENCY, now=clock.advance(minutes=1))
        await uow.commit()
    successor = b.product(slug="old-name")
    await write(backend, lambda uow: uow.products.add(successor))

    assert await read(backend, lambda uow: uow.products.get_by_slug("new-name")) == loaded
    assert await read(backend, lambda uow: uow.products.get_by_slug("old-name")) == successor


# -- products: SKUs ----------------------------------------------------------------------
async def test_taken_skus_names_those_owned_by_other_products(backend: Backend) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    cap = b.product(skus=["CAP-1"])
    await add_all(backend, tee, cap)

    taken = await read(
        backend, lambda uow: uow.products.taken_skus(["NEW-1", "TEE-M", "CAP-1", "TEE-S"])
    )

    assert sorted(taken) == ["CAP-1", "TEE-M", "TEE-S"]
    assert len(taken) == 3


async def test_taken_skus_leaves_out_the_excluded_products_own(backend: Backend) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    cap = b.product(skus=["CAP-1"])
    await add_all(backend, tee, cap)

    taken = await read(
        backend,
        lambda uow: uow.products.taken_skus(["TEE-S", "TEE-M", "CAP-1"], excluding=tee.id),
    )

    assert taken == ["CAP-1"]


async def test_skus_of_archived_products_stay_taken(backend: Backend, clock: ManualClock) -> None:
    product = b.product(skus=["OLD-1"])
    product.archive(clock.now())
    await write(backend, lambda uow: uow.products.add(product))

    assert await read(backend, lambda uow: uow.products.taken_skus(["OLD-1"])) == ["OLD-1"]


async def test_skus_dropped_from_a_product_become_free(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["KEEP-1", "DROP-1"])
    await write(backend, lambda uow: uow.products.add(product))

    async with backend.uow() as uow:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(
            variants=(Variant(sku="KEEP-1", price=eur(500)),),
            currency=b.CURRENCY,
            now=clock.advance(minutes=1),
        )
        await uow.commit()
    heir = b.product(skus=["DROP-1"])
    await write(backend, lambda uow: uow.products.add(heir))

    assert await read(backend, lambda uow: uow.products.taken_skus(["KEEP-1"])) == ["KEEP-1"]
    found = await read(backend, lambda uow: uow.products.by_skus(["DROP-1"]))
    assert found == [heir]


async def test_by_skus_finds_each_owning_product_once_archived_ones_too(
    backend: Backend, clock: ManualClock
) -> None:
    tee = b.product(skus=["TEE-S", "TEE-M"])
    old = b.product(skus=["OLD-1"])
    old.archive(clock.now())
    other = b.product(skus=["CAP-1"])
    await add_all(backend, tee, old, other)

    found = await read(
        backend, lambda uow: uow.products.by_skus(["TEE-S", "OLD-1", "TEE-M", "NOPE-1"])
    )

    assert sorted(found, key=lambda p: p.id) == sorted([tee, old], key=lambda p: p.id)
    assert len(found) == 2


async def test_empty_sku_lists_find_nothing(backend: Backend) -> None:
    await write(backend, lambda uow: uow.products.add(b.product()))

    assert await read(backend, lambda uow: uow.products.taken_skus([])) == []
    assert await read(backend, lambda uow: uow.products.by_skus([])) == []


async def test_a_change_of_variants_alone_is_saved_even_at_the_same_instant(
    backend: Backend,
) -> None:
    """Only the variants change (a new price) and `updated_at` is what it was (the same clock
    reading): the product's own row is unchanged, and the change must not be lost with it."""
    product = b.product(skus=["TEE-S"], prices=[1999])
    await add_all(backend, product)
    async with backend.uow() as uow:
        stored = await uow.products.get(product.id)
        assert stored is not None
        stored.update(
            variants=(Variant(sku="TEE-S", price=eur(2500)),),
            currency=b.CURRENCY,
            now=stored.updated_at,
        )
        await uow.commit()

    again = await read(backend, lambda uow: uow.products.get(product.id))

    assert again is not None
    assert again.variants == (Variant(sku="TEE-S", price=eur(2500)),)
    assert again.version == product.version + 1
