"""What ordering needs from the outside world, including the other contexts.

The cart, catalog, inventory and payments contexts are reached only through these narrow
ports; in one process an adapter backs each with that context's own use cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.ordering.model import Discount, Order, OrderLine, OrderStatus
from shopcore.shared.address import Address
from shopcore.shared.money import Money


class CartContents(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)


class PaymentStanding(StrEnum):
    """A payment as an order's work needs to know it."""

    NONE = "none"  # neither the books nor the gateway know of it: nothing was authorized
    HELD = "held"  # an authorization is held
    DECLINED = "declined"
    FAILED = "failed"  # the gateway failed; nothing authorized as far as anyone knows
    CLOSED = "closed"  # captured, voided or refunded: nothing is held for the order any more


class PriceQuote(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    price: Money
    sellable: bool


class CartSource(Protocol):
    """The customer's cart, as a checkout sees it. Every change is keyed by the order id and
    safe to repeat, so the recovery job may run any of them again."""

    async def contents(self, cart_id: str, customer_id: str) -> CartContents:
        """The lines of the customer's open cart, changing nothing. NotFound (not theirs
        either), EmptyCart, IllegalTransition while a checkout holds it."""
        ...

    async def claim(
        self, cart_id: str, customer_id: str, order_id: str, lines: Sequence[tuple[str, int]]
    ) -> None:
        """Hold the cart for this order, if it still holds exactly `lines`; done already for
        this order, nothing changes. IllegalTransition while another checkout holds it, or
        once the cart changed (Conflict)."""
        ...

    async def complete(self, cart_id: str, order_id: str) -> None:
        """The order is placed: the cart is checked out (again: nothing changes)."""
        ...

    async def abandon(self, cart_id: str, order_id: str) -> None:
        """Give the cart back to the customer after a failed checkout; nothing changes unless
        this order holds it."""
        ...


class PriceList(Protocol):
    async def prices(self, skus: Sequence[str]) -> dict[str, PriceQuote]: ...


class StockReservations(Protocol):
    async def reserve(self, reservation_id: str, lines: Sequence[tuple[str, int]]) -> None:
        """All lines or none; OutOfStock names the short SKUs. AlreadyExists if the id was
        ever reserved before."""
        ...

    async def allocate(self, reservation_id: str) -> None:
        """OutOfStock if the reservation expired and the stock is gone."""
        ...

    async def release(self, reservation_id: str) -> None: ...

    async def ship(self, reservation_id: str) -> None: ...


class HeldPayment(Protocol):
    """An authorization the gateway granted, not yet on the books: opaque to ordering, which
    only hands it back to `Payments.record`."""

    @property
    def id(self) -> str: ...


class Payments(Protocol):
    """The order's payment, whose id is the order's own. Every call carries an idempotency key
    derived from the order id, so repeating one is safe."""

    async def authorize(
        self, *, payment_id: str, order_id: str, amount: Money, token: str, idempotency_key: str
    ) -> HeldPayment:
        """Ask the gateway. PaymentDeclined or PaymentGatewayUnavailable when it does not go
        through (that answer is on the books already). What it holds is not on the books yet:
        `record` writes it, in the caller's transaction inside `together`."""
        ...

    async def record(self, held: HeldPayment) -> None:
        """Write down what `authorize` returned (a copy already there is kept)."""
        ...

    async def standing(
        self, *, payment_id: str, order_id: str, amount: Money, idempotency_key: str
    ) -> PaymentStanding:
        """Where this payment stands: on the shop's books, or, when the books do not know it,
        at the gateway under `idempotency_key` (a process died between the gateway's answer
        and the books: the books are brought up to date first)."""
        ...

    async def capture(self, payment_id: str, idempotency_key: str) -> None: ...

    async def void(self, payment_id: str, idempotency_key: str) -> None: ...

    async def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> None: ...


class ShippingPolicy(Protocol):
    def quote(self, subtotal: Money, address: Address, item_count: int) -> Money: ...


class TaxPolicy(Protocol):
    def rate(self, country: str) -> int:
        """The tax rate for deliveries to `country`, in basis points (1900 = 19 %)."""
        ...


class DiscountPolicy(Protocol):
    async def discounts(
        self, customer_id: str, lines: Sequence[OrderLine], subtotal: Money
    ) -> tuple[Discount, ...]: ...


class CustomerContacts(Protocol):
    async def email_of(self, customer_id: str) -> str | None: ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...

    async def get(self, order_id: str) -> Order | None: ...

    def adopt(self, order: Order) -> None:
        """Take `order`, as this process last committed it, for this unit's own copy without
        reading it again. If it changed since, the commit fails its version check
        (ConcurrencyConflict), as it would for an order read and changed by someone else."""
        ...

    async def page(
        self,
        *,
        customer_id: str | None,
        status: OrderStatus | None,
        before: str | None,
        limit: int,
    ) -> list[Order]:
        """Newest first, ids below `before`; filtered by customer and status when given."""
        ...

    async def unsettled(self, *, due_before: datetime, limit: int) -> list[Order]:
        """Orders whose multi-step work should have been done before `due_before`, the most
        overdue first: what the recovery job finishes."""
        ...


class OrderingUnitOfWork(UnitOfWork, Protocol):
    @property
    def orders(self) -> OrderRepository: ...
