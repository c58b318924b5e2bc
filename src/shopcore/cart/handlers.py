"""Cart use cases."""

from __future__ import annotations

from shopcore.application.bus import CommandTable
from shopcore.cart.commands import (
    AbandonCheckout,
    AddCartItem,
    BeginCheckout,
    ChangeCartItem,
    CompleteCheckout,
    CreateCart,
    MergeCarts,
    RemoveCartItem,
)
from shopcore.cart.model import CHECKOUT_HOLD, Cart, CartAccess, CartStatus, Quote, new_token
from shopcore.cart.ports import CartUnitOfWork, CatalogQuotes
from shopcore.cart.results import CheckoutLines, OpenedCart
from shopcore.shared import validation
from shopcore.shared.clock import Clock
from shopcore.shared.errors import InvalidInput, NotFound


async def create_cart(
    command: CreateCart, uow: CartUnitOfWork, clock: Clock, currency: str
) -> OpenedCart:
    now = clock.now()
    async with uow:
        if command.customer_id is not None:
            existing = await uow.carts.open_cart_of(command.customer_id)
            if existing is not None:
                return OpenedCart(cart=existing, token=None)
            token, token_hash = None, None
        else:
            token, token_hash = new_token()
        cart = Cart(
            id=command.cart_id,
            customer_id=command.customer_id,
            token_hash=token_hash,
            currency=currency,
            lines=[],
            status=CartStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        await uow.carts.add(cart)
        await uow.commit()
    return OpenedCart(cart=cart, token=token)


async def add_cart_item(
    command: AddCartItem, uow: CartUnitOfWork, clock: Clock, quotes: CatalogQuotes
) -> Cart:
    await _check_access(uow, command.cart_id, command.access)
    quote = await _quote(quotes, command.sku)
    async with uow:
        cart = await _owned(uow, command.cart_id, command.access)
        cart.add(quote, command.quantity, clock.now())
        await uow.commit()
    return cart


async def change_cart_item(
    command: ChangeCartItem, uow: CartUnitOfWork, clock: Clock, quotes: CatalogQuotes
) -> Cart:
    await _check_access(uow, command.cart_id, command.access)
    quote = await _quote(quotes, command.sku)
    async with uow:
        cart = await _owned(uow, command.cart_id, command.access)
        if cart.line(command.sku) is None:
            raise NotFound(f"{command.sku} is not in the cart")
        cart.set_quantity(quote, command.quantity, clock.now())
        await uow.commit()
    return cart


async def remove_cart_item(command: RemoveCartItem, uow: CartUnitOfWork, clock: Clock) -> Cart:
    async with uow:
        cart = await _owned(uow, command.cart_id, command.access)
        cart.remove(command.sku, clock.now())
        await uow.commit()
    return cart


async def merge_carts(
    command: MergeCarts,
    uow: CartUnitOfWork,
    clock: Clock,
    quotes: CatalogQuotes,
    currency: str,
) -> Cart:
    async with uow:
        anonymous = await _owned(uow, command.anonymous_cart_id, CartAccess(token=command.token))
        skus = [line.sku for line in anonymous.lines]
    quoted = await quotes.quotes(skus) if skus else {}
    opened = await create_cart(CreateCart(customer_id=command.customer_id), uow, clock, currency)
    async with uow:
        anonymous = await _owned(uow, command.anonymous_cart_id, CartAccess(token=command.token))
        mine = await uow.carts.get(opened.cart.id)
        if mine is None:  # pragma: no cover - created a moment ago in this same flow
            raise NotFound(f"cart {opened.cart.id} not found")
        mine.absorb(anonymous, quoted, clock.now())
        await uow.commit()
    return mine


async def begin_checkout(
    command: BeginCheckout, uow: CartUnitOfWork, clock: Clock
) -> CheckoutLines:
    async with uow:
        cart = await _owned(uow, command.cart_id, CartAccess(customer_id=command.customer_id))
        cart.begin_checkout(command.order_id, clock.now(), CHECKOUT_HOLD, command.lines)
        await uow.commit()
    return CheckoutLines(cart_id=cart.id, currency=cart.currency, lines=cart.checkout_lines())


async def complete_checkout(command: CompleteCheckout, uow: CartUnitOfWork, clock: Clock) -> Cart:
    async with uow:
        cart = await _get(uow, command.cart_id)
        cart.complete_checkout(command.order_id, clock.now())
        await uow.commit()
    return cart


async def abandon_checkout(command: AbandonCheckout, uow: CartUnitOfWork, clock: Clock) -> Cart:
    async with uow:
        cart = await _get(uow, command.cart_id)
        cart.abandon_checkout(command.order_id, clock.now())
        await uow.commit()
    return cart


async def _get(uow: CartUnitOfWork, cart_id: str) -> Cart:
    cart = await uow.carts.get(cart_id)
    if cart is None:
        raise NotFound(f"cart {cart_id} not found")
    return cart


async def _quote(quotes: CatalogQuotes, sku: str) -> Quote:
    validation.sku(sku)
    quote = (await quotes.quotes([sku])).get(sku)
    if quote is None:
        raise InvalidInput(f"{sku} is not in the catalog")
    return quote


async def _owned(uow: CartUnitOfWork, cart_id: str, access: CartAccess) -> Cart:
    cart = await _get(uow, cart_id)
    cart.check_access(access)
    return cart


async def _check_access(uow: CartUnitOfWork, cart_id: str, access: CartAccess) -> None:
    """Ownership before the catalog is asked: a caller who cannot reach the cart gets "not
    found" whatever else is wrong with the request, so it learns nothing about the cart."""
    async with uow:
        await _owned(uow, cart_id, access)


COMMAND_HANDLERS: CommandTable = {
    CreateCart: create_cart,
    AddCartItem: add_cart_item,
    ChangeCartItem: change_cart_item,
    RemoveCartItem: remove_cart_item,
    MergeCarts: merge_carts,
    BeginCheckout: begin_checkout,
    CompleteCheckout: complete_checkout,
    AbandonCheckout: abandon_checkout,
}
