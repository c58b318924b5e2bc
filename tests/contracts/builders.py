"""Aggregates and stock records for the contract suites, built through the domain API only,
and the ways a suite touches a backend: a committed write (of one step, or of several
aggregates at once), and a read in a fresh unit."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from shopcore.bootstrap import ShopUnitOfWork
from shopcore.cart.model import Cart, CartStatus, Quote
from shopcore.catalog.model import Product, Variant
from shopcore.customers.model import Customer, Role
from shopcore.inventory.model import (
    DEFAULT_LOCATION,
    MovementKind,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockMovement,
)
from shopcore.ordering.model import Discount, Order, OrderLine, OrderTotals
from shopcore.payments.model import Payment, Transaction, TransactionKind
from shopcore.shared.address import Address
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money
from tests.contracts.backends import Backend

T = TypeVar("T")

CURRENCY = "EUR"
# Microseconds on purpose: a store that truncates timestamps fails the round trips.
START = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
HOLD = timedelta(minutes=15)
ADDRESS = Address(
    name="Zoë Ünal",
    line1="Hauptstraße 1",
    line2="Hinterhaus, 3. OG",
    city="Köln",
    postal_code="50667",
    country="DE",
)
_serial = itertools.count(1)


def eur(amount: int) -> Money:
    return Money(amount, CURRENCY)


def ascending_ids(count: int) -> list[str]:
    """Fresh ids in the order the stores must sort them (ids are the keyset cursors)."""
    return sorted(new_id() for _ in range(count))


async def write(backend: Backend, step: Callable[[ShopUnitOfWork], Awaitable[T]]) -> T:
    async with backend.uow() as uow:
        result = await step(uow)
        await uow.commit()
    return result


async def read(backend: Backend, step: Callable[[ShopUnitOfWork], Awaitable[T]]) -> T:
    async with backend.uow() as uow:
        return await step(uow)


async def add_all(backend: Backend, *aggregates: Aggregate) -> None:
    async with backend.uow() as uow:
        for aggregate in aggregates:
            if isinstance(aggregate, Product):
                await uow.products.add(aggregate)
            elif isinstance(aggregate, Cart):
                await uow.carts.add(aggregate)
            elif isinstance(aggregate, Order):
                await uow.orders.add(aggregate)
            elif isinstance(aggregate, Payment):
                await uow.payments.add(aggregate)
            else:
                raise AssertionError(f"add_all does not store {type(aggregate).__name__}")
        await uow.commit()


def ids_of(aggregates: list[Product] | list[Order] | list[Payment]) -> list[str]:
    return [aggregate.id for aggregate in aggregates]


# -- catalog ------------------------------------------------------------------------------
def product(
    *,
    now: datetime = START,
    id: str | None = None,
    name: str | None = None,
    slug: str | None = None,
    description: str = "Soft organic cotton",
    category: str = "shirts",
    skus: Sequence[str] | None = None,
    prices: Sequence[int] = (1999,),
) -> Product:
    n = next(_serial)
    skus = list(skus) if skus is not None else [f"SKU-{n}-{i}" for i in range(len(prices))]
    if len(prices) == 1 and len(skus) > 1:
        prices = [prices[0]] * len(skus)
    variants = tuple(
        Variant(sku=sku, price=eur(price), attributes={"size": "M", "colour": f"shade {i}"})
        for i, (sku, price) in enumerate(zip(skus, prices, strict=True))
    )
    return Product.create(
        id=id or new_id(),
        name=name or f"Product {n}",
        slug=slug or f"product-{n}",
        description=description,
        category=category,
        variants=variants,
        currency=CURRENCY,
        now=now,
    )


# -- customers ----------------------------------------------------------------------------
def customer(*, now: datetime = START, email: str | None = None, id: str | None = None) -> Customer:
    n = next(_serial)
    return Customer.register(
        id=id or new_id(),
        email=email or f"customer{n}@example.com",
        password_hash=f"test-sha256$salt{n}$digest",
        name=f"Customer {n}",
        role=Role.CUSTOMER,
        now=now,
    )


# -- cart -----------------------------------------------------------------------------------
def cart(
    *,
    now: datetime = START,
    customer_id: str | None = None,
    token_hash: str | None = None,
    lines: dict[str, int] | None = None,
    id: str | None = None,
) -> Cart:
    opened = Cart(
        id=id or new_id(),
        customer_id=customer_id,
        token_hash=token_hash,
        currency=CURRENCY,
        lines=[],
        status=CartStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    for sku, quantity in (lines or {}).items():
        quote = Quote(sku=sku, name=f"Item {sku}", price=eur(1250), sellable=True)
        opened.add(quote, quantity, now)
    return opened


# -- ordering -----------------------------------------------------------------------------
def order(
    *,
    now: datetime = START,
    customer_id: str | None = None,
    id: str | None = None,
    lines: dict[str, int] | None = None,
) -> Order:
    order_lines = tuple(
        OrderLine(sku=sku, name=f"Item {sku}", quantity=quantity, unit_price=eur(1250))
        for sku, quantity in (lines or {"TEE-M": 2}).items()
    )
    subtotal = eur(sum(line.line_total.amount for line in order_lines))
    discount = eur(100)
    shipping = eur(495)
    tax = (subtotal - discount + shipping).portion(1900)
    totals = OrderTotals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=subtotal - discount + shipping + tax,
    )
    return Order.place(
        id=id or new_id(),
        customer_id=customer_id or new_id(),
        cart_id=new_id(),
        lines=order_lines,
        discounts=(Discount(code="WELCOME", amount=discount),),
        totals=totals,
        shipping_address=ADDRESS,
        now=now,
    )


# -- payments -----------------------------------------------------------------------------
def transaction(
    kind: TransactionKind, amount: Money, *, at: datetime, key: str, reference: str
) -> Transaction:
    return Transaction(
        kind=kind,
        amount=amount,
        succeeded=True,
        reference=reference,
        idempotency_key=key,
        message=f"{kind} approved",
        at=at,
    )


def payment(
    *, now: datetime = START, order_id: str | None = None, amount: int = 4321, id: str | None = None
) -> Payment:
    order_id = order_id or new_id()
    reference = f"ch_{new_id()}"
    return Payment.authorized(
        id=id or new_id(),
        order_id=order_id,
        amount=eur(amount),
        transaction=transaction(
            TransactionKind.AUTHORIZE,
            eur(amount),
            at=now,
            key=f"{order_id}:authorize",
            reference=reference,
        ),
    )


# -- inventory ----------------------------------------------------------------------------
def movement(
    sku: str,
    delta: int,
    *,
    at: datetime = START,
    kind: MovementKind = MovementKind.RECEIVED,
    location: str = DEFAULT_LOCATION,
    reason: str = "delivery from the supplier",
) -> StockMovement:
    return StockMovement(sku=sku, location=location, kind=kind, delta=delta, reason=reason, at=at)


def reservation(
    lines: Sequence[tuple[str, int] | tuple[str, int, str]],
    *,
    now: datetime = START,
    ttl: timedelta = HOLD,
    id: str | None = None,
) -> Reservation:
    """Lines as (sku, quantity) or (sku, quantity, location), kept in the given order."""
    return Reservation(
        id=id or new_id(),
        lines=tuple(
            ReservationLine(
                sku=line[0],
                quantity=line[1],
                location=line[2] if len(line) == 3 else DEFAULT_LOCATION,
            )
            for line in lines
        ),
        status=ReservationStatus.ACTIVE,
        expires_at=now + ttl,
        created_at=now,
    )
