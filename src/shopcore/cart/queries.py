"""The cart's read side."""

from __future__ import annotations

from datetime import datetime

from shopcore.cart.model import CHECKOUT_HOLD, Cart, CartAccess
from shopcore.cart.ports import CartUnitOfWork
from shopcore.cart.results import CheckoutLines
from shopcore.shared.errors import NotFound


async def get_cart(uow: CartUnitOfWork, cart_id: str, access: CartAccess) -> Cart:
    async with uow:
        cart = await uow.carts.get(cart_id)
    if cart is None:
        raise NotFound(f"cart {cart_id} not found")
    cart.check_access(access)
    return cart


async def checkout_contents(
    uow: CartUnitOfWork, cart_id: str, customer_id: str, now: datetime
) -> CheckoutLines:
    """The lines a checkout of this customer's cart would order, changing nothing; raises as
    holding the cart would (not theirs, empty, held by another checkout)."""
    cart = await get_cart(uow, cart_id, CartAccess(customer_id=customer_id))
    cart.check_checkout("", now, CHECKOUT_HOLD)
    return CheckoutLines(cart_id=cart.id, currency=cart.currency, lines=cart.checkout_lines())
