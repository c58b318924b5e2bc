"""Carts: a customer's, or an anonymous one reached through a secret token.

The token itself is never stored: only its SHA-256, compared in constant time. A cart answers
"not found" to anyone who cannot show ownership, so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from shopcore.shared import validation
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import (
    AlreadyExists,
    Conflict,
    EmptyCart,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from shopcore.shared.money import Money, total

MAX_LINES = 50
MAX_LINE_QUANTITY = 100
# As long as a stock reservation lives: a checkout holding a cart longer than that has died
# (and the recovery job did not run), so another checkout may take the cart over.
CHECKOUT_HOLD = timedelta(minutes=15)


class CartStatus(StrEnum):
    OPEN = "open"
    CHECKING_OUT = "checking_out"  # held by one checkout, so a double submit cannot order twice
    MERGED = "merged"  # its lines moved into the owner's cart at login
    CHECKED_OUT = "checked_out"


class CartLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    quantity: int
    unit_price: Money  # snapshot of the catalog price when the line last changed

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """What the catalog says of a SKU right now."""

    sku: str
    name: str
    price: Money
    sellable: bool


class CartAccess(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: a signed-in customer, a holder of the cart token, or both."""

    customer_id: str | None = None
    token: str | None = None


def new_token() -> tuple[str, str]:
    """A fresh secret (for the client) and its hash (for storage)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(kw_only=True)
class Cart(Aggregate):
    id: str
    customer_id: str | None
    token_hash: str | None
    currency: str
    lines: list[CartLine]
    status: CartStatus
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    checkout_started_at: datetime | None = None

    def is_reachable_by(self, access: CartAccess) -> bool:
        if self.customer_id is not None:
            return access.customer_id == self.customer_id
        if self.token_hash is None or access.token is None or len(access.token) > 200:
            return False
        return hmac.compare_digest(self.token_hash, hash_token(access.token))

    def check_access(self, access: CartAccess) -> None:
        if not self.is_reachable_by(access):
            raise NotFound(f"cart {self.id} not found")

    @property
    def subtotal(self) -> Money:
        return total([line.line_total for line in self.lines], self.currency)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def line(self, sku: str) -> CartLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def add(self, quote: Quote, quantity: int, now: datetime) -> None:
        self._check_open()
        validation.quantity(quantity, maximum=MAX_LINE_QUANTITY)
        existing = self.line(quote.sku)
        self.set_quantity(quote, quantity + (existing.quantity if existing else 0), now)

    def set_quantity(self, quote: Quote, quantity: int, now: datetime) -> None:
        self._check_open()
        validation.quantity(quantity, maximum=MAX_LINE_QUANTITY)
        if not quote.sellable:
            raise InvalidInput(f"{quote.sku} is not for sale")
        if quote.price.currency != self.currency:
            raise InvalidInput(
                f"{quote.sku} is priced in {quote.price.currency}, not {self.currency}"
            )
        line = CartLine(sku=quote.sku, name=quote.name, quantity=quantity, unit_price=quote.price)
        index = next((i for i, old in enumerate(self.lines) if old.sku == quote.sku), None)
        if index is None:
            if len(self.lines) >= MAX_LINES:
                raise InvalidInput(f"a cart holds at most {MAX_LINES} different items")
            self.lines.append(line)
        else:
            self.lines[index] = line
        self.updated_at = now

    def remove(self, sku: str, now: datetime) -> None:
        self._check_open()
        if self.line(sku) is None:
            raise NotFound(f"{sku} is not in the cart")
        self.lines = [line for line in self.lines if line.sku != sku]
        self.updated_at = now

    def absorb(self, other: Cart, quotes: dict[str, Quote], now: datetime) -> None:
        """Merge an anonymous cart's lines into this one; quantities add up, to the cap."""
        self._check_open()
        other._check_open()
        for line in other.lines:
            quote = quotes.get(line.sku)
            if quote is None or not quote.sellable:
                continue
            mine = self.line(line.sku)
            combined = min(MAX_LINE_QUANTITY, line.quantity + (mine.quantity if mine else 0))
            if mine is None and len(self.lines) >= MAX_LINES:
                continue
            self.set_quantity(quote, combined, now)
        other.status = CartStatus.MERGED
        other.updated_at = now

    def check_checkout(self, order_id: str, now: datetime, stale_after: timedelta) -> bool:
        """Whether this order may hold the cart: True when it holds it already, False when
        it may take it; raises when it may not (another checkout holds it, it is empty)."""
        if self.status is CartStatus.CHECKING_OUT:
            if self.order_id == order_id:
                return True
            started = self.checkout_started_at
            if started is not None and started + stale_after > now:
                raise IllegalTransition("a checkout of this cart is already in progress")
            # Otherwise the checkout holding it died long ago; this one takes over.
        elif self.status is CartStatus.CHECKED_OUT and self.order_id == order_id:
            raise AlreadyExists(f"order {order_id} already exists")
        else:
            self._check_open()
        if not self.lines:
            raise EmptyCart("the cart is empty")
        return False

    def begin_checkout(
        self,
        order_id: str,
        now: datetime,
        stale_after: timedelta,
        expected: tuple[tuple[str, int], ...] | None = None,
    ) -> None:
        """Hold the cart for `order_id` (again: nothing changes), if it still holds the
        `expected` lines the order was priced from."""
        if self.check_checkout(order_id, now, stale_after):
            return
        if expected is not None and self.checkout_lines() != expected:
            raise Conflict("the cart changed while it was being checked out; check out again")
        self.status = CartStatus.CHECKING_OUT
        self.order_id = order_id
        self.checkout_started_at = now
        self.updated_at = now

    def checkout_lines(self) -> tuple[tuple[str, int], ...]:
        return tuple((line.sku, line.quantity) for line in self.lines)

    def complete_checkout(self, order_id: str, now: datetime) -> None:
        if self.status is CartStatus.CHECKED_OUT and self.order_id == order_id:
            return
        if self.status is not CartStatus.CHECKING_OUT or self.order_id != order_id:
            raise IllegalTransition(f"cart {self.id} is not being checked out by {order_id}")
        self.status = CartStatus.CHECKED_OUT
        self.updated_at = now

    def abandon_checkout(self, order_id: str, now: datetime) -> None:
        if self.status is CartStatus.CHECKING_OUT and self.order_id == order_id:
            self.status = CartStatus.OPEN
            self.order_id = None
            self.checkout_started_at = None
            self.updated_at = now

    def _check_open(self) -> None:
        if self.status is not CartStatus.OPEN:
            raise IllegalTransition(f"cart {self.id} is {self.status} and cannot change")
