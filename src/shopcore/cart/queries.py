"""The cart's read side, including the view checkout needs."""

from __future__ import annotations

import msgspec

from shopcore.cart.model import Cart, CartAccess
from shopcore.cart.ports import CartUnitOfWork
from shopcore.shared.errors import NotFound


class CheckoutLines(msgspec.Struct, frozen=True, kw_only=True):
    cart_id: str
    currency: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)


async def get_cart(uow: CartUnitOfWork, cart_id: str, access: CartAccess) -> Cart:
    async with uow:
        cart = await uow.carts.get(cart_id)
    if cart is None:
        raise NotFound(f"cart {cart_id} not found")
    cart.check_access(access)
    return cart
