"""The cart's read side."""

from __future__ import annotations

from shopcore.cart.model import Cart, CartAccess
from shopcore.cart.ports import CartUnitOfWork
from shopcore.shared.errors import NotFound


async def get_cart(uow: CartUnitOfWork, cart_id: str, access: CartAccess) -> Cart:
    async with uow:
        cart = await uow.carts.get(cart_id)
    if cart is None:
        raise NotFound(f"cart {cart_id} not found")
    cart.check_access(access)
    return cart
