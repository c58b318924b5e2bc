from __future__ import annotations

import pytest

from shopcore import AlreadyExists, CreateProduct, InvalidInput, Money, Variant
from shopcore.catalog.events import ProductCreated
from shopcore.catalog.model import MAX_ATTRIBUTES, MAX_VARIANTS, Product, ProductStatus
from shopcore.catalog.queries import get_product
from shopcore.catalog.views import ProductView
from tests.support.driver import ShopDriver


def variant(sku: str, price: int = 1999, currency: str = "EUR", **attributes: str) -> Variant:
    return Variant(sku=sku, price=Money(price, currency), attributes=attributes)


def create(
    *variants: Variant,
    slug: str = "linen-shirt",
    name: str = "Linen shirt",
    category: str = "shirts",
    description: str = "Breathable linen.",
) -> CreateProduct:
    return CreateProduct(
        name=name,
        slug=slug,
        category=category,
        description=description,
        variants=variants or (variant("LIN-M"),),
    )


async def test_a_created_product_is_active_stored_and_announced(driver: ShopDriver) -> None:
    command = create(variant("LIN-S", 2900, size="S"), variant("LIN-M", 3100, size="M"))

    product: Product = await driver.handle(command)

    assert product.id == command.product_id
    assert product.status is ProductStatus.ACTIVE
    assert product.is_sellable
    assert product.skus == ("LIN-S", "LIN-M")
    assert product.variant("LIN-M") == variant("LIN-M", 3100, size="M")
    assert product.variant("NOPE") is None
    assert product.created_at == product.updated_at == driver.clock.now()
    assert await get_product(driver.shop.ports.catalog_views, product.id) == ProductView.of(product)
    [event] = driver.store.outbox
    assert isinstance(event, ProductCreated)
    assert (event.product_id, event.skus) == (product.id, ("LIN-S", "LIN-M"))


async def test_name_and_description_are_stored_trimmed(driver: ShopDriver) -> None:
    product: Product = await driver.handle(create(name="  Linen shirt ", description=" Soft. "))

    assert (product.name, product.description) == ("Linen shirt", "Soft.")


async def test_a_taken_slug_is_refused(driver: ShopDriver) -> None:
    await driver.handle(create(variant("A-1"), slug="linen-shirt"))

    with pytest.raises(AlreadyExists, match="slug 'linen-shirt' is taken") as raised:
        await driver.handle(create(variant("B-1"), slug="linen-shirt"))

    assert raised.value.code == "already-exists"
    assert len(driver.store.products) == 1


async def test_a_sku_that_another_product_uses_is_refused(driver: ShopDriver) -> None:
    await driver.handle(create(variant("A-1"), variant("A-2"), slug="first"))

    with pytest.raises(AlreadyExists, match="SKUs already in the catalog: A-2") as raised:
        await driver.handle(create(variant("A-2"), variant("B-1"), slug="second"))

    assert raised.value.code == "already-exists"
    assert len(driver.store.products) == 1
    assert [type(e) for e in driver.store.outbox] == [ProductCreated]


async def test_a_sku_differing_only_by_a_trailing_newline_is_not_a_new_sku(
    driver: ShopDriver,
) -> None:
    await driver.handle(create(variant("A-1"), slug="first"))

    with pytest.raises(InvalidInput, match="invalid SKU"):
        await driver.handle(create(variant("A-1\n"), slug="second"))


async def test_skus_must_be_unique_within_a_product(driver: ShopDriver) -> None:
    with pytest.raises(InvalidInput, match="unique within a product") as raised:
        await driver.handle(create(variant("A-1", 100), variant("A-1", 200)))

    assert raised.value.code == "invalid-input"
    assert len(driver.store.products) == 0


@pytest.mark.parametrize("count", [0, MAX_VARIANTS + 1])
async def test_a_product_needs_one_to_a_hundred_variants(driver: ShopDriver, count: int) -> None:
    variants = tuple(variant(f"V-{n}") for n in range(count))

    with pytest.raises(InvalidInput, match="1 to 100 variants"):
        await driver.handle(CreateProduct(name="x", slug="x", category="c", variants=variants))


async def test_a_hundred_variants_are_allowed(driver: ShopDriver) -> None:
    variants = tuple(variant(f"V-{n}") for n in range(MAX_VARIANTS))

    product: Product = await driver.handle(create(*variants))

    assert len(product.skus) == MAX_VARIANTS


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (variant("bad sku"), "invalid SKU"),
        (variant("A-1", currency="USD"), "shop currency EUR"),
        (variant("A-1", 0), "price must be positive"),
        (variant("A-1", -100), "price must be positive"),
        (variant("A-1", 100_000_001), "at most 1,000,000.00"),
        (variant("A-1", **{f"k{n}": "v" for n in range(MAX_ATTRIBUTES + 1)}), "at most 20"),
        (variant("A-1", **{"k" * 51: "v"}), "attribute name"),
        (variant("A-1", colour="v" * 101), "attribute value"),
        (variant("A-1", colour=""), "attribute value"),
    ],
)
async def test_an_invalid_variant_is_refused(
    driver: ShopDriver, bad: Variant, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await driver.handle(create(bad))

    assert len(driver.store.products) == 0


async def test_the_highest_price_and_attribute_limits_are_allowed(driver: ShopDriver) -> None:
    attributes = {f"k{n}": "v" for n in range(MAX_ATTRIBUTES)}

    product: Product = await driver.handle(create(variant("A-1", 100_000_000, **attributes)))

    assert product.variants[0].price == Money(100_000_000, "EUR")
    assert len(product.variants[0].attributes) == MAX_ATTRIBUTES


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "name must be"),
        ({"name": "n" * 201}, "name must be"),
        ({"slug": "Linen Shirt"}, "slug must be"),
        ({"category": "Shirts"}, "category must be"),
        ({"description": "d" * 5001}, "description must be"),
    ],
)
async def test_invalid_product_fields_are_refused(
    driver: ShopDriver, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await driver.handle(create(**fields))

    assert driver.store.outbox == []
