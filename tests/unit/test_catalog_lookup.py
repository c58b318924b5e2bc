from __future__ import annotations

from shopcore import CreateProduct, Money, Variant
from shopcore.catalog.model import Product
from shopcore.catalog.queries import SkuPrice, get_product, price_list
from shopcore.catalog.views import ProductView
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


async def test_a_product_is_found_by_id_and_by_slug(driver: ShopDriver) -> None:
    product = await driver.product("A-1")

    views = driver.shop.ports.catalog_views

    assert await get_product(views, product.id) == ProductView.of(product)
    assert await get_product(views, product.slug) == ProductView.of(product)


async def test_an_unknown_id_or_slug_finds_nothing(driver: ShopDriver) -> None:
    await driver.product("A-1")

    assert await get_product(driver.shop.ports.catalog_views, new_id()) is None
    assert await get_product(driver.shop.ports.catalog_views, "no-such-product") is None


async def test_a_slug_that_looks_like_an_id_still_finds_its_product(driver: ShopDriver) -> None:
    # A hex slug (a content hash, say) parses as a UUID; it must still reach the product.
    product: Product = await driver.handle(
        CreateProduct(
            name="Hashed",
            slug="0123456789abcdef0123456789abcdef",
            category="misc",
            variants=(Variant(sku="H-1", price=Money(100, "EUR")),),
        )
    )

    found = await get_product(driver.shop.ports.catalog_views, product.slug)

    assert found == ProductView.of(product)


async def test_the_price_list_quotes_known_skus_and_omits_unknown_ones(
    driver: ShopDriver,
) -> None:
    shirt = await driver.product("TEE-M", "TEE-L", price=1500, name="Tee")
    cap = await driver.product("CAP", price=900, name="Cap")

    prices = await price_list(driver.shop.uow(), ["TEE-L", "CAP", "GHOST"])

    assert prices == {
        "TEE-L": SkuPrice(
            sku="TEE-L", product_id=shirt.id, name="Tee", price=Money(1500, "EUR"), sellable=True
        ),
        "CAP": SkuPrice(
            sku="CAP", product_id=cap.id, name="Cap", price=Money(900, "EUR"), sellable=True
        ),
    }


async def test_the_price_list_of_nothing_is_empty(driver: ShopDriver) -> None:
    await driver.product("A-1")

    assert await price_list(driver.shop.uow(), []) == {}


async def test_an_id_finds_its_product_before_a_slug_equal_to_it(driver: ShopDriver) -> None:
    # An id is a valid slug too, so one product's slug may be another's id: the id wins.
    first = await driver.product("A-1")
    second: Product = await driver.handle(
        CreateProduct(
            name="Copycat",
            slug=first.id,
            category="misc",
            variants=(Variant(sku="C-1", price=Money(100, "EUR")),),
        )
    )
    views = driver.shop.ports.catalog_views

    assert await get_product(views, first.id) == ProductView.of(first)
    assert await get_product(views, second.id) == ProductView.of(second)
