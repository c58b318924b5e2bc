from __future__ import annotations

import pytest

from shopcore import (
    AlreadyExists,
    ArchiveProduct,
    IllegalTransition,
    InvalidInput,
    Money,
    NotFound,
    UpdateProduct,
    Variant,
)
from shopcore.catalog.events import ProductArchived, ProductUpdated
from shopcore.catalog.model import Product, ProductStatus
from shopcore.catalog.queries import get_product, price_list
from shopcore.catalog.views import ProductView
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


def variant(sku: str, price: int = 1000) -> Variant:
    return Variant(sku=sku, price=Money(price, "EUR"))


def updates(driver: ShopDriver) -> list[ProductUpdated]:
    return [event for event in driver.store.outbox if isinstance(event, ProductUpdated)]


async def test_updating_fields_stores_them_and_leaves_the_rest(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=1500)
    driver.clock.advance(minutes=5)

    updated: Product = await driver.handle(
        UpdateProduct(
            product_id=product.id,
            name=" Organic tee ",
            slug="organic-tee",
            description="Now organic.",
            category="tees",
        )
    )

    stored = await get_product(driver.shop.ports.catalog_views, "organic-tee")
    assert stored == ProductView.of(updated)
    assert (updated.name, updated.slug, updated.description, updated.category) == (
        "Organic tee",
        "organic-tee",
        "Now organic.",
        "tees",
    )
    assert updated.variants == product.variants
    assert updated.created_at == product.created_at
    assert updated.updated_at == driver.clock.now() != product.updated_at
    assert await get_product(driver.shop.ports.catalog_views, product.slug) is None
    [event] = updates(driver)
    assert (event.product_id, event.skus, event.prices_changed) == (product.id, ("TEE-M",), False)


async def test_a_price_change_is_flagged_and_seen_by_the_price_list(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", "TEE-L", price=1500)

    await driver.handle(
        UpdateProduct(
            product_id=product.id, variants=(variant("TEE-M", 1500), variant("TEE-L", 1700))
        )
    )

    [event] = updates(driver)
    assert event.prices_changed
    prices = await price_list(driver.shop.uow(), ["TEE-M", "TEE-L"])
    assert prices["TEE-L"].price == Money(1700, "EUR")
    assert prices["TEE-M"].price == Money(1500, "EUR")


async def test_replacing_variants_reports_removed_and_added_skus_and_frees_the_old_ones(
    driver: ShopDriver,
) -> None:
    product = await driver.product("OLD-1", "KEEP-1", price=1000)

    await driver.handle(
        UpdateProduct(
            product_id=product.id, variants=(variant("KEEP-1", 1000), variant("NEW-1", 1000))
        )
    )

    [event] = updates(driver)
    assert event.skus == ("KEEP-1", "NEW-1", "OLD-1")
    assert event.prices_changed
    assert set(await price_list(driver.shop.uow(), ["OLD-1", "KEEP-1", "NEW-1"])) == {
        "KEEP-1",
        "NEW-1",
    }
    reused = await driver.product("OLD-1")
    assert reused.skus == ("OLD-1",)


async def test_an_update_may_keep_its_own_slug_and_skus(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=1500)

    updated: Product = await driver.handle(
        UpdateProduct(product_id=product.id, slug=product.slug, variants=product.variants)
    )

    assert (updated.slug, updated.skus) == (product.slug, ("TEE-M",))
    assert not updates(driver)[0].prices_changed


async def test_updating_an_unknown_product_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound) as raised:
        await driver.handle(UpdateProduct(product_id=new_id(), name="x"))

    assert raised.value.code == "not-found"


async def test_taking_another_products_slug_is_refused(driver: ShopDriver) -> None:
    first = await driver.product("A-1")
    second = await driver.product("B-1")

    with pytest.raises(AlreadyExists, match="is taken"):
        await driver.handle(UpdateProduct(product_id=second.id, slug=first.slug, name="Renamed"))

    stored = await get_product(driver.shop.ports.catalog_views, second.id)
    assert stored is not None
    assert (stored.slug, stored.name) == (second.slug, second.name)
    assert updates(driver) == []


async def test_taking_another_products_sku_is_refused(driver: ShopDriver) -> None:
    await driver.product("A-1")
    second = await driver.product("B-1")

    with pytest.raises(AlreadyExists, match="SKUs already in the catalog: A-1"):
        await driver.handle(
            UpdateProduct(product_id=second.id, variants=(variant("B-1"), variant("A-1")))
        )

    stored = await get_product(driver.shop.ports.catalog_views, second.id)
    assert stored is not None and stored.skus == ("B-1",)


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"slug": "Bad Slug"},
        {"category": "Bad"},
        {"description": "d" * 5001},
        {"variants": ()},
        {"variants": (Variant(sku="A-1", price=Money(100, "USD")),)},
    ],
)
async def test_an_invalid_update_changes_nothing(
    driver: ShopDriver, change: dict[str, object]
) -> None:
    product = await driver.product("A-1")

    with pytest.raises(InvalidInput):
        await driver.handle(UpdateProduct(product_id=product.id, **change))  # type: ignore[arg-type]

    assert await get_product(driver.shop.ports.catalog_views, product.id) == ProductView.of(product)
    assert updates(driver) == []


async def test_archiving_hides_the_product_and_marks_its_skus_unsellable(
    driver: ShopDriver,
) -> None:
    product = await driver.product("A-1", "A-2")
    driver.clock.advance(hours=1)

    archived: Product = await driver.handle(ArchiveProduct(product_id=product.id))

    assert archived.status is ProductStatus.ARCHIVED
    assert not archived.is_sellable
    assert archived.updated_at == driver.clock.now()
    assert await get_product(driver.shop.ports.catalog_views, product.id) is None
    assert await get_product(driver.shop.ports.catalog_views, product.slug) is None
    prices = await price_list(driver.shop.uow(), ["A-1", "A-2"])
    assert [prices[sku].sellable for sku in ("A-1", "A-2")] == [False, False]
    [event] = [e for e in driver.store.outbox if isinstance(e, ProductArchived)]
    assert (event.product_id, event.skus) == (product.id, ("A-1", "A-2"))


async def test_archiving_twice_is_harmless_and_announced_once(driver: ShopDriver) -> None:
    product = await driver.product("A-1")
    await driver.handle(ArchiveProduct(product_id=product.id))
    first_archived_at = driver.clock.now()
    driver.clock.advance(hours=1)

    again: Product = await driver.handle(ArchiveProduct(product_id=product.id))

    assert again.status is ProductStatus.ARCHIVED
    assert again.updated_at == first_archived_at
    assert sum(isinstance(e, ProductArchived) for e in driver.store.outbox) == 1


async def test_archiving_an_unknown_product_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(ArchiveProduct(product_id=new_id()))


async def test_an_archived_product_cannot_be_changed(driver: ShopDriver) -> None:
    product = await driver.product("A-1")
    await driver.handle(ArchiveProduct(product_id=product.id))

    with pytest.raises(IllegalTransition, match="archived") as raised:
        await driver.handle(UpdateProduct(product_id=product.id, name="Revived"))

    assert raised.value.code == "illegal-transition"
    assert updates(driver) == []


async def test_an_archived_products_skus_stay_reserved(driver: ShopDriver) -> None:
    product = await driver.product("A-1")
    await driver.handle(ArchiveProduct(product_id=product.id))

    with pytest.raises(AlreadyExists, match="A-1"):
        await driver.product("A-1")
