from __future__ import annotations

import pytest

from apps.settings import Settings
from shopcore import (
    AddCartItem,
    CartAccess,
    CreateCart,
    CreateProduct,
    InvalidInput,
    Money,
    Variant,
)
from shopcore.cart.results import OpenedCart
from tests.support.driver import ShopDriver, build_driver


async def usd_product(driver: ShopDriver, sku: str, amount: int) -> None:
    await driver.handle(
        CreateProduct(
            name=f"Product {sku}",
            slug=f"product-{sku.lower()}",
            category="shirts",
            variants=(Variant(sku=sku, price=Money(amount, "USD")),),
        )
    )


async def test_carts_take_the_shop_currency_for_lines_and_totals() -> None:
    driver = build_driver(Settings(currency="USD"))
    await usd_product(driver, "CAP-1", 1999)
    customer = await driver.customer()

    cart = await driver.cart(customer, {"CAP-1": 2})

    assert cart.currency == "USD"
    assert cart.lines[0].unit_price == Money(1999, "USD")
    assert cart.subtotal == Money(3998, "USD")


async def test_an_anonymous_cart_takes_the_shop_currency() -> None:
    driver = build_driver(Settings(currency="USD"))

    opened: OpenedCart = await driver.handle(CreateCart())

    assert opened.cart.currency == "USD"


async def test_an_item_priced_in_another_currency_cannot_join_a_cart(driver: ShopDriver) -> None:
    # The shop switched currency while a cart was open: its currency is fixed at creation,
    # so a price in the new currency must not be mixed into it.
    customer = await driver.customer()
    cart = await driver.cart(customer, {})
    switched = build_driver(Settings(currency="USD"), store=driver.store)
    await usd_product(switched, "CAP-1", 1999)

    with pytest.raises(InvalidInput) as raised:
        await driver.handle(
            AddCartItem(
                cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku="CAP-1", quantity=1
            )
        )

    assert raised.value.code == "invalid-input"
    stored = driver.store.carts.peek(cart.id)
    assert stored is not None
    assert stored.currency == "EUR"
    assert stored.lines == []
