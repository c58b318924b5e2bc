from __future__ import annotations

import pytest

from shopcore import AddCartItem, AlreadyExists, CartAccess, CreateCart, NotFound, RemoveCartItem
from shopcore.cart.model import CartStatus, hash_token
from shopcore.cart.queries import get_cart
from shopcore.cart.results import OpenedCart
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver


async def test_a_customer_cart_is_opened_empty_in_the_shop_currency(driver: ShopDriver) -> None:
    customer = await driver.customer()

    opened: OpenedCart = await driver.handle(CreateCart(customer_id=customer.id))

    assert opened.token is None
    assert opened.cart.customer_id == customer.id
    assert opened.cart.token_hash is None
    assert opened.cart.status is CartStatus.OPEN
    assert opened.cart.currency == "EUR"
    assert opened.cart.lines == []
    assert opened.cart.created_at == opened.cart.updated_at == driver.clock.now()


async def test_a_customer_gets_the_same_open_cart_back(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    first = await driver.cart(customer, {"TEE-M": 2})

    again: OpenedCart = await driver.handle(CreateCart(customer_id=customer.id))

    assert again.cart.id == first.id
    assert again.token is None
    assert [(line.sku, line.quantity) for line in again.cart.lines] == [("TEE-M", 2)]


async def test_two_customers_get_separate_carts(driver: ShopDriver) -> None:
    ada, bob = await driver.customer(), await driver.customer()

    ada_cart: OpenedCart = await driver.handle(CreateCart(customer_id=ada.id))
    bob_cart: OpenedCart = await driver.handle(CreateCart(customer_id=bob.id))

    assert ada_cart.cart.id != bob_cart.cart.id


async def test_an_anonymous_cart_hands_out_its_token_once_and_stores_only_a_hash(
    driver: ShopDriver,
) -> None:
    opened: OpenedCart = await driver.handle(CreateCart())

    assert opened.token is not None
    assert opened.cart.customer_id is None
    stored = driver.store.carts.peek(opened.cart.id)
    assert stored is not None
    assert stored.token_hash == hash_token(opened.token)


async def test_each_anonymous_cart_is_new_with_its_own_token(driver: ShopDriver) -> None:
    first: OpenedCart = await driver.handle(CreateCart())
    second: OpenedCart = await driver.handle(CreateCart())

    assert first.cart.id != second.cart.id
    assert first.token != second.token


async def test_a_cart_id_cannot_be_used_twice(driver: ShopDriver) -> None:
    cart_id = new_id()
    await driver.handle(CreateCart(cart_id=cart_id))

    with pytest.raises(AlreadyExists) as raised:
        await driver.handle(CreateCart(cart_id=cart_id))

    assert raised.value.code == "already-exists"


async def test_the_token_holder_changes_an_anonymous_cart(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    opened: OpenedCart = await driver.handle(CreateCart())

    cart = await driver.handle(
        AddCartItem(
            cart_id=opened.cart.id, access=CartAccess(token=opened.token), sku="TEE-M", quantity=1
        )
    )

    assert [(line.sku, line.quantity) for line in cart.lines] == [("TEE-M", 1)]


@pytest.mark.parametrize(
    "access",
    [
        CartAccess(),
        CartAccess(token="not-the-token"),
        CartAccess(token=""),
        CartAccess(token="x" * 201),
        CartAccess(customer_id=new_id()),
    ],
    ids=["nobody", "wrong-token", "empty-token", "oversized-token", "a-customer"],
)
async def test_an_anonymous_cart_is_not_found_without_its_token(
    driver: ShopDriver, access: CartAccess
) -> None:
    await driver.product("TEE-M")
    opened: OpenedCart = await driver.handle(CreateCart())

    with pytest.raises(NotFound) as raised:
        await driver.handle(
            AddCartItem(cart_id=opened.cart.id, access=access, sku="TEE-M", quantity=1)
        )

    assert raised.value.code == "not-found"
    stored = driver.store.carts.peek(opened.cart.id)
    assert stored is not None and stored.lines == []


async def test_another_anonymous_carts_token_does_not_open_this_one(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    mine: OpenedCart = await driver.handle(CreateCart())
    theirs: OpenedCart = await driver.handle(CreateCart())

    with pytest.raises(NotFound):
        await driver.handle(
            AddCartItem(
                cart_id=mine.cart.id, access=CartAccess(token=theirs.token), sku="TEE-M", quantity=1
            )
        )


async def test_another_customer_cannot_touch_a_customers_cart(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    owner, intruder = await driver.customer(), await driver.customer()
    cart = await driver.cart(owner, {"TEE-M": 1})

    with pytest.raises(NotFound) as raised:
        await driver.handle(
            RemoveCartItem(cart_id=cart.id, access=CartAccess(customer_id=intruder.id), sku="TEE-M")
        )

    assert raised.value.code == "not-found"
    stored = driver.store.carts.peek(cart.id)
    assert stored is not None and [line.sku for line in stored.lines] == ["TEE-M"]


async def test_a_token_does_not_open_a_customers_cart(driver: ShopDriver) -> None:
    # A customer's cart has no token; a token of some anonymous cart must not stand in for it.
    await driver.product("TEE-M")
    owner = await driver.customer()
    cart = await driver.cart(owner, {})
    anonymous: OpenedCart = await driver.handle(CreateCart())

    with pytest.raises(NotFound):
        await driver.handle(
            AddCartItem(
                cart_id=cart.id, access=CartAccess(token=anonymous.token), sku="TEE-M", quantity=1
            )
        )


async def test_an_unknown_cart_is_not_found(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()

    with pytest.raises(NotFound) as raised:
        await driver.handle(
            AddCartItem(
                cart_id=new_id(),
                access=CartAccess(customer_id=customer.id),
                sku="TEE-M",
                quantity=1,
            )
        )

    assert raised.value.code == "not-found"


async def test_the_owner_reads_a_cart(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=1250)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    read = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))

    assert read.id == cart.id
    assert [(line.sku, line.quantity) for line in read.lines] == [("TEE-M", 2)]
    assert read.subtotal.amount == 2500


async def test_the_token_holder_reads_an_anonymous_cart(driver: ShopDriver) -> None:
    opened: OpenedCart = await driver.handle(CreateCart())

    read = await get_cart(driver.shop.uow(), opened.cart.id, CartAccess(token=opened.token))

    assert read.id == opened.cart.id


async def test_reading_someone_elses_cart_is_not_found(driver: ShopDriver) -> None:
    owner, other = await driver.customer(), await driver.customer()
    cart = await driver.cart(owner, {})

    with pytest.raises(NotFound) as raised:
        await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=other.id))

    assert raised.value.code == "not-found"


async def test_reading_an_unknown_cart_is_not_found(driver: ShopDriver) -> None:
    customer = await driver.customer()

    with pytest.raises(NotFound):
        await get_cart(driver.shop.uow(), new_id(), CartAccess(customer_id=customer.id))
