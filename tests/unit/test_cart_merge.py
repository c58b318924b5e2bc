from __future__ import annotations

import pytest

from shopcore import (
    AddCartItem,
    ArchiveProduct,
    CartAccess,
    CreateCart,
    IllegalTransition,
    MergeCarts,
    NotFound,
    UpdateProduct,
    Variant,
)
from shopcore.cart.commands import BeginCheckout
from shopcore.cart.model import MAX_LINE_QUANTITY, MAX_LINES, Cart, CartStatus
from shopcore.cart.results import OpenedCart
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, eur


def quantities(cart: Cart) -> dict[str, int]:
    return {line.sku: line.quantity for line in cart.lines}


def stored(driver: ShopDriver, cart_id: str) -> Cart:
    row = driver.store.carts.peek(cart_id)
    assert row is not None
    return row


async def anonymous_cart(driver: ShopDriver, lines: dict[str, int]) -> OpenedCart:
    opened: OpenedCart = await driver.handle(CreateCart())
    for sku, quantity in lines.items():
        await driver.handle(
            AddCartItem(
                cart_id=opened.cart.id,
                access=CartAccess(token=opened.token),
                sku=sku,
                quantity=quantity,
            )
        )
    return opened


async def merge(driver: ShopDriver, customer_id: str, anonymous: OpenedCart) -> Cart:
    assert anonymous.token is not None
    merged: Cart = await driver.handle(
        MergeCarts(
            customer_id=customer_id, anonymous_cart_id=anonymous.cart.id, token=anonymous.token
        )
    )
    return merged


async def test_login_sums_quantities_into_the_customers_cart(driver: ShopDriver) -> None:
    await driver.product("TEE-M", "TEE-L", "MUG-1")
    customer = await driver.customer()
    mine = await driver.cart(customer, {"TEE-M": 2, "MUG-1": 1})
    anonymous = await anonymous_cart(driver, {"TEE-M": 3, "TEE-L": 1})

    merged = await merge(driver, customer.id, anonymous)

    assert merged.id == mine.id
    assert quantities(merged) == {"TEE-M": 5, "MUG-1": 1, "TEE-L": 1}
    assert quantities(stored(driver, mine.id)) == {"TEE-M": 5, "MUG-1": 1, "TEE-L": 1}


async def test_the_anonymous_cart_is_closed_after_merging(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"TEE-M": 1})
    driver.clock.advance(minutes=5)

    await merge(driver, customer.id, anonymous)

    closed = stored(driver, anonymous.cart.id)
    assert closed.status is CartStatus.MERGED
    assert closed.updated_at == driver.clock.now()
    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(
            AddCartItem(
                cart_id=anonymous.cart.id,
                access=CartAccess(token=anonymous.token),
                sku="TEE-M",
                quantity=1,
            )
        )
    assert raised.value.code == "illegal-transition"


async def test_merging_twice_is_refused_and_adds_nothing_more(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"TEE-M": 2})
    mine = await merge(driver, customer.id, anonymous)

    with pytest.raises(IllegalTransition):
        await merge(driver, customer.id, anonymous)

    assert quantities(stored(driver, mine.id)) == {"TEE-M": 2}


async def test_a_customer_without_a_cart_gets_one_with_the_anonymous_lines(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M", price=2500)
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"TEE-M": 2})

    merged = await merge(driver, customer.id, anonymous)

    assert merged.id != anonymous.cart.id
    assert merged.customer_id == customer.id
    assert merged.status is CartStatus.OPEN
    assert quantities(merged) == {"TEE-M": 2}
    assert merged.subtotal == eur(5000)
    reopened: OpenedCart = await driver.handle(CreateCart(customer_id=customer.id))
    assert reopened.cart.id == merged.id


async def test_merging_an_empty_anonymous_cart_closes_it(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    mine = await driver.cart(customer, {"TEE-M": 1})
    anonymous = await anonymous_cart(driver, {})

    merged = await merge(driver, customer.id, anonymous)

    assert quantities(merged) == {"TEE-M": 1}
    assert stored(driver, anonymous.cart.id).status is CartStatus.MERGED
    assert merged.id == mine.id


async def test_summed_quantities_stop_at_the_line_maximum(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    await driver.cart(customer, {"TEE-M": 70})
    anonymous = await anonymous_cart(driver, {"TEE-M": 50})

    merged = await merge(driver, customer.id, anonymous)

    assert quantities(merged) == {"TEE-M": MAX_LINE_QUANTITY}


async def test_merged_lines_take_the_current_price(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=2500)
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"TEE-M": 1})
    await driver.handle(
        UpdateProduct(product_id=product.id, variants=(Variant(sku="TEE-M", price=eur(2200)),))
    )

    merged = await merge(driver, customer.id, anonymous)

    assert merged.lines[0].unit_price == eur(2200)
    assert merged.subtotal == eur(2200)


async def test_archived_items_are_left_behind(driver: ShopDriver) -> None:
    gone = await driver.product("OLD-1")
    await driver.product("TEE-M")
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"OLD-1": 1, "TEE-M": 1})
    await driver.handle(ArchiveProduct(product_id=gone.id))

    merged = await merge(driver, customer.id, anonymous)

    assert quantities(merged) == {"TEE-M": 1}
    assert stored(driver, anonymous.cart.id).status is CartStatus.MERGED


async def test_new_items_that_do_not_fit_a_full_cart_are_left_behind(
    driver: ShopDriver,
) -> None:
    skus = [f"SKU-{n}" for n in range(MAX_LINES + 1)]
    await driver.product(*skus)
    customer = await driver.customer()
    await driver.cart(customer, dict.fromkeys(skus[:MAX_LINES], 1))
    anonymous = await anonymous_cart(driver, {skus[0]: 2, skus[-1]: 1})

    merged = await merge(driver, customer.id, anonymous)

    assert len(merged.lines) == MAX_LINES
    assert skus[-1] not in quantities(merged)
    assert quantities(merged)[skus[0]] == 3


async def test_a_wrong_token_merges_nothing(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    anonymous = await anonymous_cart(driver, {"TEE-M": 1})

    with pytest.raises(NotFound) as raised:
        await driver.handle(
            MergeCarts(customer_id=customer.id, anonymous_cart_id=anonymous.cart.id, token="guess")
        )

    assert raised.value.code == "not-found"
    assert stored(driver, anonymous.cart.id).status is CartStatus.OPEN
    assert [cart for cart in driver.store.carts if cart.customer_id == customer.id] == []


async def test_an_unknown_anonymous_cart_is_not_found(driver: ShopDriver) -> None:
    customer = await driver.customer()

    with pytest.raises(NotFound):
        await driver.handle(
            MergeCarts(customer_id=customer.id, anonymous_cart_id=new_id(), token="whatever")
        )


async def test_another_customers_cart_cannot_be_merged_in(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    victim, thief = await driver.customer(), await driver.customer()
    theirs = await driver.cart(victim, {"TEE-M": 4})
    stranger: OpenedCart = await driver.handle(CreateCart())
    assert stranger.token is not None

    with pytest.raises(NotFound):
        await driver.handle(
            MergeCarts(customer_id=thief.id, anonymous_cart_id=theirs.id, token=stranger.token)
        )

    assert stored(driver, theirs.id).status is CartStatus.OPEN
    assert quantities(stored(driver, theirs.id)) == {"TEE-M": 4}


async def test_merging_while_the_customers_cart_is_held_fills_a_fresh_cart(
    driver: ShopDriver,
) -> None:
    """The held cart is left to its checkout; the anonymous lines go to a cart of their own."""
    await driver.product("TEE-M", "TEE-L")
    customer = await driver.customer()
    mine = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(BeginCheckout(cart_id=mine.id, customer_id=customer.id, order_id=new_id()))
    anonymous = await anonymous_cart(driver, {"TEE-L": 1})

    merged = await merge(driver, customer.id, anonymous)

    assert merged.id != mine.id
    assert quantities(merged) == {"TEE-L": 1}
    assert quantities(stored(driver, mine.id)) == {"TEE-M": 1}
    assert stored(driver, mine.id).status is CartStatus.CHECKING_OUT
    assert stored(driver, anonymous.cart.id).status is CartStatus.MERGED
