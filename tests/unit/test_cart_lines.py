from __future__ import annotations

from typing import Any

import pytest

from shopcore import (
    AddCartItem,
    ArchiveProduct,
    CartAccess,
    ChangeCartItem,
    InvalidInput,
    NotFound,
    RemoveCartItem,
    UpdateProduct,
    Variant,
)
from shopcore.cart.model import MAX_LINE_QUANTITY, MAX_LINES, Cart, CartLine
from shopcore.customers.model import Customer
from tests.support.driver import ShopDriver, eur


def quantities(cart: Cart) -> dict[str, int]:
    return {line.sku: line.quantity for line in cart.lines}


def stored(driver: ShopDriver, cart: Cart) -> Cart:
    row = driver.store.carts.peek(cart.id)
    assert row is not None
    return row


async def add(driver: ShopDriver, customer: Customer, cart: Cart, sku: str, quantity: Any) -> Cart:
    result: Cart = await driver.handle(
        AddCartItem(
            cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku=sku, quantity=quantity
        )
    )
    return result


async def change(
    driver: ShopDriver, customer: Customer, cart: Cart, sku: str, quantity: Any
) -> Cart:
    result: Cart = await driver.handle(
        ChangeCartItem(
            cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku=sku, quantity=quantity
        )
    )
    return result


async def remove(driver: ShopDriver, customer: Customer, cart: Cart, sku: str) -> Cart:
    result: Cart = await driver.handle(
        RemoveCartItem(cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku=sku)
    )
    return result


async def test_adding_an_item_snapshots_its_name_and_price(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=2500, name="Plain tee")
    customer = await driver.customer()
    cart = await driver.cart(customer, {})
    driver.clock.advance(minutes=3)

    cart = await add(driver, customer, cart, "TEE-M", 2)

    assert cart.lines == [
        CartLine(sku="TEE-M", name=product.name, quantity=2, unit_price=eur(2500))
    ]
    assert cart.updated_at == driver.clock.now()
    assert quantities(stored(driver, cart)) == {"TEE-M": 2}


async def test_adding_a_sku_already_in_the_cart_adds_to_its_quantity(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    cart = await add(driver, customer, cart, "TEE-M", 3)

    assert quantities(cart) == {"TEE-M": 5}
    assert len(cart.lines) == 1


async def test_lines_keep_the_order_they_were_added_in(driver: ShopDriver) -> None:
    await driver.product("TEE-S", "TEE-M", "TEE-L")
    customer = await driver.customer()

    cart = await driver.cart(customer, {"TEE-M": 1, "TEE-L": 1, "TEE-S": 1})
    cart = await change(driver, customer, cart, "TEE-L", 4)

    assert [line.sku for line in cart.lines] == ["TEE-M", "TEE-L", "TEE-S"]


async def test_totals_sum_every_line_at_its_unit_price(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.product("MUG-1", price=799)
    customer = await driver.customer()

    cart = await driver.cart(customer, {"TEE-M": 2, "MUG-1": 3})

    assert [line.line_total for line in cart.lines] == [eur(5000), eur(2397)]
    assert cart.subtotal == eur(7397)
    assert cart.item_count == 5


async def test_an_empty_cart_totals_zero_in_its_currency(driver: ShopDriver) -> None:
    customer = await driver.customer()

    cart = await driver.cart(customer, {})

    assert cart.subtotal == eur(0)
    assert cart.item_count == 0


async def test_a_line_keeps_the_price_it_was_added_at(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=2500)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    await driver.handle(
        UpdateProduct(product_id=product.id, variants=(Variant(sku="TEE-M", price=eur(3000)),))
    )

    assert stored(driver, cart).lines[0].unit_price == eur(2500)
    assert stored(driver, cart).subtotal == eur(2500)


async def test_changing_a_line_takes_the_current_price(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=2500)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(
        UpdateProduct(product_id=product.id, variants=(Variant(sku="TEE-M", price=eur(3000)),))
    )

    cart = await change(driver, customer, cart, "TEE-M", 2)

    assert cart.lines[0].unit_price == eur(3000)
    assert cart.subtotal == eur(6000)


async def test_adding_more_reprices_the_whole_line(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=2500)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(
        UpdateProduct(product_id=product.id, variants=(Variant(sku="TEE-M", price=eur(2000)),))
    )

    cart = await add(driver, customer, cart, "TEE-M", 1)

    assert cart.lines == [
        CartLine(sku="TEE-M", name=product.name, quantity=2, unit_price=eur(2000))
    ]


async def test_changing_sets_the_quantity_rather_than_adding(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 5})

    cart = await change(driver, customer, cart, "TEE-M", 2)

    assert quantities(cart) == {"TEE-M": 2}
    assert quantities(stored(driver, cart)) == {"TEE-M": 2}


async def test_changing_a_sku_not_in_the_cart_is_not_found(driver: ShopDriver) -> None:
    await driver.product("TEE-M", "TEE-L")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    with pytest.raises(NotFound) as raised:
        await change(driver, customer, cart, "TEE-L", 1)

    assert raised.value.code == "not-found"
    assert quantities(stored(driver, cart)) == {"TEE-M": 1}


async def test_removing_a_line_leaves_the_others(driver: ShopDriver) -> None:
    await driver.product("TEE-M", "TEE-L")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1, "TEE-L": 2})
    driver.clock.advance(minutes=1)

    cart = await remove(driver, customer, cart, "TEE-M")

    assert quantities(cart) == {"TEE-L": 2}
    assert cart.updated_at == driver.clock.now()
    assert quantities(stored(driver, cart)) == {"TEE-L": 2}


async def test_removing_a_sku_not_in_the_cart_is_not_found(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(NotFound) as raised:
        await remove(driver, customer, cart, "TEE-M")

    assert raised.value.code == "not-found"


async def test_an_archived_sku_can_still_be_removed(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(ArchiveProduct(product_id=product.id))

    cart = await remove(driver, customer, cart, "TEE-M")

    assert cart.lines == []


async def test_a_line_holds_up_to_the_maximum_quantity(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()

    cart = await driver.cart(customer, {"TEE-M": MAX_LINE_QUANTITY})

    assert quantities(cart) == {"TEE-M": MAX_LINE_QUANTITY}


@pytest.mark.parametrize("quantity", [0, -1, MAX_LINE_QUANTITY + 1, 1.5, "2", True], ids=repr)
async def test_adding_an_invalid_quantity_is_refused(driver: ShopDriver, quantity: Any) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, "TEE-M", quantity)

    assert raised.value.code == "invalid-input"
    assert stored(driver, cart).lines == []


@pytest.mark.parametrize("quantity", [0, -2, 1.0, True], ids=repr)
async def test_adding_a_non_positive_quantity_never_shrinks_a_line(
    driver: ShopDriver, quantity: Any
) -> None:
    # Adding is not a back door to lowering a quantity: only a change may do that.
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 5})

    with pytest.raises(InvalidInput):
        await add(driver, customer, cart, "TEE-M", quantity)

    assert quantities(stored(driver, cart)) == {"TEE-M": 5}


async def test_adding_past_the_line_maximum_is_refused(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 60})

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, "TEE-M", MAX_LINE_QUANTITY - 60 + 1)

    assert raised.value.code == "invalid-input"
    assert quantities(stored(driver, cart)) == {"TEE-M": 60}


@pytest.mark.parametrize("quantity", [0, -1, MAX_LINE_QUANTITY + 1], ids=repr)
async def test_changing_to_an_invalid_quantity_is_refused(
    driver: ShopDriver, quantity: int
) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 3})

    with pytest.raises(InvalidInput) as raised:
        await change(driver, customer, cart, "TEE-M", quantity)

    assert raised.value.code == "invalid-input"
    assert quantities(stored(driver, cart)) == {"TEE-M": 3}


async def test_a_cart_holds_at_most_the_maximum_number_of_lines(driver: ShopDriver) -> None:
    skus = [f"SKU-{n}" for n in range(MAX_LINES + 1)]
    await driver.product(*skus)
    customer = await driver.customer()
    cart = await driver.cart(customer, dict.fromkeys(skus[:MAX_LINES], 1))

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, skus[-1], 1)

    assert raised.value.code == "invalid-input"
    assert len(stored(driver, cart).lines) == MAX_LINES
    # A full cart still takes more of what it already holds.
    cart = await add(driver, customer, cart, skus[0], 1)
    assert quantities(cart)[skus[0]] == 2


async def test_an_unknown_sku_cannot_be_added(driver: ShopDriver) -> None:
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, "NOPE-1", 1)

    assert raised.value.code == "invalid-input"
    assert stored(driver, cart).lines == []


@pytest.mark.parametrize("sku", ["", "-LEADING-DASH", "has space", "X" * 65])
async def test_a_malformed_sku_is_refused(driver: ShopDriver, sku: str) -> None:
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, sku, 1)

    assert raised.value.code == "invalid-input"


async def test_an_archived_sku_cannot_be_added(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M")
    await driver.handle(ArchiveProduct(product_id=product.id))
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(InvalidInput) as raised:
        await add(driver, customer, cart, "TEE-M", 1)

    assert raised.value.code == "invalid-input"
    assert stored(driver, cart).lines == []


async def test_a_line_whose_product_was_archived_cannot_be_changed(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(ArchiveProduct(product_id=product.id))

    with pytest.raises(InvalidInput):
        await change(driver, customer, cart, "TEE-M", 2)

    assert quantities(stored(driver, cart)) == {"TEE-M": 1}


async def test_changing_an_unknown_sku_is_refused(driver: ShopDriver) -> None:
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(InvalidInput):
        await change(driver, customer, cart, "NOPE-1", 1)
