from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from shopcore import (
    AddCartItem,
    AlreadyExists,
    CartAccess,
    ChangeCartItem,
    CreateCart,
    EmptyCart,
    IllegalTransition,
    NotFound,
    RemoveCartItem,
)
from shopcore.cart.commands import AbandonCheckout, BeginCheckout, CompleteCheckout
from shopcore.cart.handlers import CHECKOUT_HOLD
from shopcore.cart.model import Cart, CartStatus
from shopcore.cart.results import CheckoutLines, OpenedCart
from shopcore.customers.model import Customer
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command
from tests.support.driver import ShopDriver


def stored(driver: ShopDriver, cart: Cart) -> Cart:
    row = driver.store.carts.peek(cart.id)
    assert row is not None
    return row


async def begin(driver: ShopDriver, customer: Customer, cart: Cart, order_id: str) -> CheckoutLines:
    lines: CheckoutLines = await driver.handle(
        BeginCheckout(cart_id=cart.id, customer_id=customer.id, order_id=order_id)
    )
    return lines


async def held_cart(driver: ShopDriver) -> tuple[Customer, Cart, str]:
    await driver.product("TEE-M", "TEE-L")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2, "TEE-L": 1})
    order_id = new_id()
    await begin(driver, customer, cart, order_id)
    return customer, cart, order_id


async def test_beginning_a_checkout_holds_the_cart_and_hands_over_its_lines(
    driver: ShopDriver,
) -> None:
    await driver.product("TEE-M", "TEE-L")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2, "TEE-L": 1})
    order_id = new_id()

    lines = await begin(driver, customer, cart, order_id)

    assert lines == CheckoutLines(
        cart_id=cart.id, currency="EUR", lines=(("TEE-M", 2), ("TEE-L", 1))
    )
    held = stored(driver, cart)
    assert held.status is CartStatus.CHECKING_OUT
    assert held.order_id == order_id
    assert held.checkout_started_at == driver.clock.now()


EDITS: dict[str, Callable[[Cart, CartAccess], Command]] = {
    "add": lambda cart, access: AddCartItem(
        cart_id=cart.id, access=access, sku="TEE-L", quantity=1
    ),
    "change": lambda cart, access: ChangeCartItem(
        cart_id=cart.id, access=access, sku="TEE-M", quantity=5
    ),
    "remove": lambda cart, access: RemoveCartItem(cart_id=cart.id, access=access, sku="TEE-M"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
async def test_a_cart_being_checked_out_cannot_change(driver: ShopDriver, edit: str) -> None:
    customer, cart, _ = await held_cart(driver)

    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(EDITS[edit](cart, CartAccess(customer_id=customer.id)))

    assert raised.value.code == "illegal-transition"
    assert [(line.sku, line.quantity) for line in stored(driver, cart).lines] == [
        ("TEE-M", 2),
        ("TEE-L", 1),
    ]


async def test_a_customer_whose_cart_is_held_gets_a_fresh_one(driver: ShopDriver) -> None:
    # A held cart refuses changes: CreateCart never hands it out, the customer may shop on.
    customer, cart, _ = await held_cart(driver)

    opened: OpenedCart = await driver.handle(CreateCart(customer_id=customer.id))

    assert opened.cart.id != cart.id
    assert (opened.cart.status, opened.cart.lines) == (CartStatus.OPEN, [])
    assert stored(driver, cart).status is CartStatus.CHECKING_OUT


async def test_beginning_again_for_the_same_order_keeps_the_hold_as_it_is(
    driver: ShopDriver,
) -> None:
    """The checkout (or the recovery job) repeating its claim: nothing changes."""
    customer, cart, order_id = await held_cart(driver)
    before = stored(driver, cart)
    driver.clock.advance(minutes=1)

    lines = await begin(driver, customer, cart, order_id)

    assert lines.lines == (("TEE-M", 2), ("TEE-L", 1))
    assert stored(driver, cart) == before


async def test_beginning_again_for_the_same_order_after_the_hold_went_stale_keeps_it(
    driver: ShopDriver,
) -> None:
    customer, cart, order_id = await held_cart(driver)
    before = stored(driver, cart)
    driver.clock.advance(seconds=CHECKOUT_HOLD.total_seconds() + 1)

    lines = await begin(driver, customer, cart, order_id)

    assert lines.lines == (("TEE-M", 2), ("TEE-L", 1))
    assert stored(driver, cart) == before


async def test_beginning_again_for_an_order_that_checked_the_cart_out_is_refused(
    driver: ShopDriver,
) -> None:
    customer, cart, order_id = await held_cart(driver)
    await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    with pytest.raises(AlreadyExists):
        await begin(driver, customer, cart, order_id)

    assert stored(driver, cart).status is CartStatus.CHECKED_OUT


async def test_a_second_checkout_is_refused_while_the_hold_is_fresh(driver: ShopDriver) -> None:
    customer, cart, first = await held_cart(driver)
    driver.clock.advance(seconds=CHECKOUT_HOLD.total_seconds() - 1)

    with pytest.raises(IllegalTransition) as raised:
        await begin(driver, customer, cart, new_id())

    assert raised.value.code == "illegal-transition"
    assert stored(driver, cart).order_id == first


async def test_a_stale_hold_is_taken_over_by_a_new_checkout(driver: ShopDriver) -> None:
    customer, cart, _ = await held_cart(driver)
    assert timedelta(minutes=15) == CHECKOUT_HOLD
    driver.clock.advance(minutes=15)
    second = new_id()

    lines = await begin(driver, customer, cart, second)

    assert lines.lines == (("TEE-M", 2), ("TEE-L", 1))
    held = stored(driver, cart)
    assert held.status is CartStatus.CHECKING_OUT
    assert held.order_id == second
    assert held.checkout_started_at == driver.clock.now()


async def test_the_checkout_that_lost_a_stale_hold_can_neither_complete_nor_release_it(
    driver: ShopDriver,
) -> None:
    customer, cart, first = await held_cart(driver)
    driver.clock.advance(minutes=20)
    second = new_id()
    await begin(driver, customer, cart, second)

    with pytest.raises(IllegalTransition):
        await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=first))
    await driver.handle(AbandonCheckout(cart_id=cart.id, order_id=first))

    assert stored(driver, cart).status is CartStatus.CHECKING_OUT
    assert stored(driver, cart).order_id == second


async def test_an_empty_cart_cannot_be_checked_out(driver: ShopDriver) -> None:
    customer = await driver.customer()
    cart = await driver.cart(customer, {})

    with pytest.raises(EmptyCart) as raised:
        await begin(driver, customer, cart, new_id())

    assert raised.value.code == "empty-cart"
    assert stored(driver, cart).status is CartStatus.OPEN


async def test_only_the_owner_can_check_a_cart_out(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    owner, other = await driver.customer(), await driver.customer()
    cart = await driver.cart(owner, {"TEE-M": 1})

    with pytest.raises(NotFound) as raised:
        await begin(driver, other, cart, new_id())

    assert raised.value.code == "not-found"
    assert stored(driver, cart).status is CartStatus.OPEN


async def test_an_anonymous_cart_cannot_be_checked_out(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    opened: OpenedCart = await driver.handle(CreateCart())
    await driver.handle(
        AddCartItem(
            cart_id=opened.cart.id, access=CartAccess(token=opened.token), sku="TEE-M", quantity=1
        )
    )

    with pytest.raises(NotFound):
        await begin(driver, customer, opened.cart, new_id())


async def test_completing_closes_the_cart_and_the_customer_starts_a_new_one(
    driver: ShopDriver,
) -> None:
    customer, cart, order_id = await held_cart(driver)
    driver.clock.advance(minutes=2)

    done: Cart = await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    assert done.status is CartStatus.CHECKED_OUT
    assert stored(driver, cart).status is CartStatus.CHECKED_OUT
    assert stored(driver, cart).updated_at == driver.clock.now()
    opened: OpenedCart = await driver.handle(CreateCart(customer_id=customer.id))
    assert opened.cart.id != cart.id
    assert opened.cart.lines == []


async def test_completing_twice_for_the_same_order_is_harmless(driver: ShopDriver) -> None:
    _, cart, order_id = await held_cart(driver)
    await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    again: Cart = await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    assert again.status is CartStatus.CHECKED_OUT
    assert again.order_id == order_id


async def test_a_checked_out_cart_cannot_change_or_be_checked_out_again(
    driver: ShopDriver,
) -> None:
    customer, cart, order_id = await held_cart(driver)
    await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    with pytest.raises(IllegalTransition):
        await driver.handle(
            AddCartItem(
                cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku="TEE-M", quantity=1
            )
        )
    with pytest.raises(IllegalTransition):
        await begin(driver, customer, cart, new_id())
    with pytest.raises(IllegalTransition):
        await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=new_id()))


async def test_completing_a_cart_nobody_is_checking_out_is_refused(driver: ShopDriver) -> None:
    await driver.product("TEE-M")
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})

    with pytest.raises(IllegalTransition) as raised:
        await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=new_id()))

    assert raised.value.code == "illegal-transition"
    assert stored(driver, cart).status is CartStatus.OPEN


async def test_another_order_cannot_complete_a_held_cart(driver: ShopDriver) -> None:
    _, cart, order_id = await held_cart(driver)

    with pytest.raises(IllegalTransition):
        await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=new_id()))

    assert stored(driver, cart).status is CartStatus.CHECKING_OUT
    assert stored(driver, cart).order_id == order_id


async def test_abandoning_gives_the_cart_back_to_the_customer(driver: ShopDriver) -> None:
    customer, cart, order_id = await held_cart(driver)

    back: Cart = await driver.handle(AbandonCheckout(cart_id=cart.id, order_id=order_id))

    assert back.status is CartStatus.OPEN
    assert back.order_id is None
    assert back.checkout_started_at is None
    changed: Cart = await driver.handle(
        ChangeCartItem(
            cart_id=cart.id, access=CartAccess(customer_id=customer.id), sku="TEE-M", quantity=3
        )
    )
    assert [(line.sku, line.quantity) for line in changed.lines] == [("TEE-M", 3), ("TEE-L", 1)]


async def test_an_abandoned_cart_can_be_checked_out_again_at_once(driver: ShopDriver) -> None:
    customer, cart, order_id = await held_cart(driver)
    await driver.handle(AbandonCheckout(cart_id=cart.id, order_id=order_id))
    retry = new_id()

    await begin(driver, customer, cart, retry)

    assert stored(driver, cart).order_id == retry


async def test_abandoning_for_another_order_leaves_the_hold(driver: ShopDriver) -> None:
    _, cart, order_id = await held_cart(driver)

    await driver.handle(AbandonCheckout(cart_id=cart.id, order_id=new_id()))

    assert stored(driver, cart).status is CartStatus.CHECKING_OUT
    assert stored(driver, cart).order_id == order_id


async def test_abandoning_a_completed_checkout_changes_nothing(driver: ShopDriver) -> None:
    _, cart, order_id = await held_cart(driver)
    await driver.handle(CompleteCheckout(cart_id=cart.id, order_id=order_id))

    await driver.handle(AbandonCheckout(cart_id=cart.id, order_id=order_id))

    assert stored(driver, cart).status is CartStatus.CHECKED_OUT


@pytest.mark.parametrize(
    "command",
    [
        CompleteCheckout(cart_id=new_id(), order_id=new_id()),
        AbandonCheckout(cart_id=new_id(), order_id=new_id()),
    ],
    ids=["complete", "abandon"],
)
async def test_checkout_steps_on_an_unknown_cart_are_not_found(
    driver: ShopDriver, command: Command
) -> None:
    with pytest.raises(NotFound) as raised:
        await driver.handle(command)

    assert raised.value.code == "not-found"
