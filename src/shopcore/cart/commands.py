"""Requests to change carts. Every one names who asks, so ownership is checked in one place."""

from __future__ import annotations

import msgspec

from shopcore.cart.model import Cart, CartAccess
from shopcore.cart.results import CheckoutLines, OpenedCart
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command


class CreateCart(Command[OpenedCart], frozen=True, kw_only=True):
    """With a customer: that customer's open cart (made if missing). Without: a new anonymous
    cart, returned with its secret token."""

    customer_id: str | None = None
    cart_id: str = msgspec.field(default_factory=new_id)


class AddCartItem(Command[Cart], frozen=True, kw_only=True):
    """Put `quantity` more of a SKU the catalog sells in the cart."""

    cart_id: str
    access: CartAccess
    sku: str
    quantity: int


class ChangeCartItem(Command[Cart], frozen=True, kw_only=True):
    """Set a cart line's quantity."""

    cart_id: str
    access: CartAccess
    sku: str
    quantity: int


class RemoveCartItem(Command[Cart], frozen=True, kw_only=True):
    """Take a SKU out of the cart."""

    cart_id: str
    access: CartAccess
    sku: str


class MergeCarts(Command[Cart], frozen=True, kw_only=True):
    """At login: move the anonymous cart (proved by its token) into the customer's cart."""

    customer_id: str
    anonymous_cart_id: str
    token: str


class BeginCheckout(Command[CheckoutLines], frozen=True, kw_only=True):
    """Hold the customer's cart for one checkout and hand over its lines; the same order
    again changes nothing. With `lines`, only if the cart still holds exactly those (the
    order was priced from them): Conflict otherwise."""

    cart_id: str
    customer_id: str
    order_id: str
    lines: tuple[tuple[str, int], ...] | None = None


class CompleteCheckout(Command[Cart], frozen=True, kw_only=True):
    """Mark the cart checked out by the order that holds it."""

    cart_id: str
    order_id: str


class AbandonCheckout(Command[Cart], frozen=True, kw_only=True):
    """Give the cart back to its customer: the order that held it did not go through."""

    cart_id: str
    order_id: str
