"""What cart commands hand back besides the cart itself.

These live apart from the handlers so that the commands can name them as their results
(`CreateCart` is a `Command[OpenedCart]`) without the commands importing the handlers.
"""

from __future__ import annotations

import msgspec

from shopcore.cart.model import Cart


class OpenedCart(msgspec.Struct, frozen=True, kw_only=True):
    cart: Cart
    token: str | None  # shown once, to the anonymous client that created the cart


class CheckoutLines(msgspec.Struct, frozen=True, kw_only=True):
    """The lines a held cart hands to the checkout that holds it."""

    cart_id: str
    currency: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
