"""A cart checks who is asking before it looks at anything else in the request."""

from __future__ import annotations

import pytest

from shopcore import AddCartItem, CartAccess, ChangeCartItem, InvalidInput, NotFound
from tests.support.driver import ShopDriver


async def test_a_stranger_adding_an_unknown_sku_is_told_the_cart_does_not_exist(
    driver: ShopDriver,
) -> None:
    owner, stranger = await driver.customer(), await driver.customer()
    cart = await driver.cart(owner, {})

    with pytest.raises(NotFound):
        await driver.handle(
            AddCartItem(
                cart_id=cart.id,
                access=CartAccess(customer_id=stranger.id),
                sku="NO-SUCH-SKU",
                quantity=1,
            )
        )


async def test_the_owner_adding_an_unknown_sku_is_told_it_is_not_in_the_catalog(
    driver: ShopDriver,
) -> None:
    owner = await driver.customer()
    cart = await driver.cart(owner, {})

    with pytest.raises(InvalidInput, match="not in the catalog"):
        await driver.handle(
            AddCartItem(
                cart_id=cart.id,
                access=CartAccess(customer_id=owner.id),
                sku="NO-SUCH-SKU",
                quantity=1,
            )
        )


async def test_a_stranger_changing_a_line_is_told_the_cart_does_not_exist(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-A")
    owner, stranger = await driver.customer(), await driver.customer()
    cart = await driver.cart(owner, {"TEE-A": 1})

    with pytest.raises(NotFound, match=f"cart {cart.id}"):
        await driver.handle(
            ChangeCartItem(
                cart_id=cart.id,
                access=CartAccess(customer_id=stranger.id),
                sku="NO-SUCH-SKU",
                quantity=2,
            )
        )
