"""What the cart needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.cart.model import Cart, Quote


class CartRepository(Protocol):
    async def add(self, cart: Cart) -> None: ...

    async def get(self, cart_id: str) -> Cart | None: ...

    async def open_cart_of(self, customer_id: str) -> Cart | None:
        """The customer's open cart, if any: the one changed last, when a checkout gave one
        back while the customer had started another. A cart held by a checkout is not open:
        it refuses changes, so the customer is never handed one."""
        ...


class CatalogQuotes(Protocol):
    """Current price and sellability of SKUs (backed by the catalog)."""

    async def quotes(self, skus: Sequence[str]) -> dict[str, Quote]: ...


class CartUnitOfWork(UnitOfWork, Protocol):
    @property
    def carts(self) -> CartRepository: ...
