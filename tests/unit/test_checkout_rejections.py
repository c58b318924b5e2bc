"""Checkouts refused before any money moves: the gateway is never asked."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shopcore import (
    Address,
    AlreadyExists,
    EmptyCart,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutOfStock,
    PlaceOrder,
)
from shopcore.cart.commands import BeginCheckout, CreateCart
from shopcore.cart.model import Cart, CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.customers.model import Customer
from shopcore.ordering.model import Order, OrderLine
from shopcore.ordering.ports import PriceQuote
from shopcore.ordering.pricing import compute_totals
from shopcore.ordering.queries import list_orders
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver, eur


def place(customer: Customer, cart: Cart, **changes: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "customer_id": customer.id,
        "cart_id": cart.id,
        "shipping_address": ADDRESS,
        "payment_token": "tok_visa",
        **changes,
    }
    return PlaceOrder(**fields)  # type: ignore[arg-type]


async def cart_status(driver: ShopDriver, customer: Customer, cart: Cart) -> CartStatus:
    found = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    return found.status


async def no_orders(driver: ShopDriver, customer: Customer) -> bool:
    page = await list_orders(driver.shop.uow(), customer_id=customer.id)
    return list(page.items) == []


async def test_an_empty_cart_cannot_be_checked_out(driver: ShopDriver) -> None:
    customer = await driver.customer()
    opened = await driver.handle(CreateCart(customer_id=customer.id))

    with pytest.raises(EmptyCart) as caught:
        await driver.handle(place(customer, opened.cart))

    assert caught.value.code == "empty-cart"
    assert driver.gateway.calls == 0
    assert await no_orders(driver, customer)
    assert await cart_status(driver, customer, opened.cart) is CartStatus.OPEN


async def test_another_customers_cart_does_not_exist_for_the_caller(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    owner = await driver.customer()
    intruder = await driver.customer()
    cart = await driver.cart(owner, {"TEE-M": 1})

    with pytest.raises(NotFound) as caught:
        await driver.handle(place(intruder, cart))

    assert caught.value.code == "not-found"
    assert driver.gateway.calls == 0
    assert await driver.available("TEE-M") == 5
    assert await cart_status(driver, owner, cart) is CartStatus.OPEN
    assert await no_orders(driver, intruder)


async def test_an_unknown_cart_is_not_found(driver: ShopDriver) -> None:
    customer = await driver.customer()

    with pytest.raises(NotFound):
        await driver.handle(
            PlaceOrder(
                customer_id=customer.id,
                cart_id=new_id(),
                shipping_address=ADDRESS,
                payment_token="tok_visa",
            )
        )

    assert driver.gateway.calls == 0


async def test_a_cart_held_by_another_checkout_is_refused_and_stays_held(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    holder = new_id()
    await driver.handle(BeginCheckout(cart_id=cart.id, customer_id=customer.id, order_id=holder))

    with pytest.raises(IllegalTransition) as caught:
        await driver.checkout(customer, cart)

    assert caught.value.code == "illegal-transition"
    assert driver.gateway.calls == 0
    assert await driver.available("TEE-M") == 5
    held = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert (held.status, held.order_id) == (CartStatus.CHECKING_OUT, holder)


async def test_out_of_stock_fails_before_the_gateway_is_asked(driver: ShopDriver) -> None:
    await driver.product("TEE-M", "TEE-L")
    await driver.receive("TEE-M", 5)
    await driver.receive("TEE-L", 1)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2, "TEE-L": 2})

    with pytest.raises(OutOfStock) as caught:
        await driver.checkout(customer, cart)

    assert caught.value.code == "out-of-stock"
    assert caught.value.skus == ("TEE-L",)
    assert driver.gateway.calls == 0
    # All lines or none: the line that fitted holds nothing either.
    assert await driver.available("TEE-M") == 5
    assert await driver.available("TEE-L") == 1
    assert await no_orders(driver, customer)
    assert await cart_status(driver, customer, cart) is CartStatus.OPEN


async def test_a_sku_never_stocked_is_out_of_stock(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    with pytest.raises(OutOfStock) as caught:
        await driver.checkout(customer, cart)

    assert caught.value.skus == ("TEE-M",)
    assert driver.gateway.calls == 0
    assert await cart_status(driver, customer, cart) is CartStatus.OPEN


@pytest.mark.parametrize("token", ["", "t" * 201], ids=["empty", "too-long"])
async def test_a_malformed_payment_token_is_refused_before_the_cart_is_held(
    driver: ShopDriver, token: str
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    with pytest.raises(InvalidInput, match="payment_token"):
        await driver.handle(place(customer, cart, payment_token=token))

    assert await cart_status(driver, customer, cart) is CartStatus.OPEN
    assert driver.gateway.calls == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"country": "XX"}, "country"), ({"city": ""}, "city"), ({"name": "n" * 201}, "name")],
)
async def test_an_invalid_shipping_address_is_refused(
    driver: ShopDriver, changes: dict[str, str], field: str
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    address = Address(**{**_address_fields(), **changes})

    with pytest.raises(InvalidInput, match=field):
        await driver.handle(place(customer, cart, shipping_address=address))

    assert await cart_status(driver, customer, cart) is CartStatus.OPEN
    assert await driver.available("TEE-M") == 5


def _address_fields() -> dict[str, str]:
    return {
        "name": ADDRESS.name,
        "line1": ADDRESS.line1,
        "city": ADDRESS.city,
        "postal_code": ADDRESS.postal_code,
        "country": ADDRESS.country,
    }


async def test_a_resubmitted_order_id_is_refused_without_side_effects(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    first = await driver.checkout(customer, await driver.cart(customer, {"TEE-M": 2}))
    charges = dict(driver.gateway.charges)
    next_cart = await driver.cart(customer, {"TEE-M": 1})

    with pytest.raises(AlreadyExists) as caught:
        await driver.handle(place(customer, next_cart, order_id=first.id))

    assert caught.value.code == "already-exists"
    assert driver.gateway.charges == charges
    assert await driver.available("TEE-M") == 3
    assert await cart_status(driver, customer, next_cart) is CartStatus.OPEN


async def test_when_the_order_cannot_be_saved_nothing_is_reserved_or_held(
    driver: ShopDriver,
) -> None:
    """Another request saves an order under the same id while ours prices its cart: the
    reservation, the order and the cart's hold are one transaction, and all of it is undone."""
    await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})
    command = place(customer, cart)
    prices = driver.shop.links.prices.prices

    async def squat_the_order_id(skus: Sequence[str]) -> dict[str, PriceQuote]:
        line = OrderLine(sku="TEE-M", name="Tee", quantity=1, unit_price=eur(1000))
        squatter = Order.place(
            id=command.order_id,
            customer_id=new_id(),
            cart_id=new_id(),
            lines=(line,),
            discounts=(),
            totals=compute_totals([line], [], eur(0), 0, "EUR"),
            shipping_address=ADDRESS,
            now=driver.clock.now(),
        )
        async with driver.shop.uow() as uow:
            await uow.orders.add(squatter)
            await uow.commit()
        return await prices(skus)

    driver.shop.links.prices.prices = squat_the_order_id  # type: ignore[method-assign]

    with pytest.raises(AlreadyExists):
        await driver.handle(command)

    assert driver.gateway.calls == 0
    assert await driver.available("TEE-M") == 5
    assert await driver.shop.uow().stock.reservation(command.order_id) is None
    assert await cart_status(driver, customer, cart) is CartStatus.OPEN
