"""Ports of ordering and cart, served in process by the other contexts.

A link sends the other context's commands through a `Sender` (the bus), typed as the bus is:
a command's declared result comes back, so `claim` reads its `CheckoutLines` without a cast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.bootstrap import Links, ShopUnitOfWork
from shopcore.cart.commands import AbandonCheckout, BeginCheckout, CompleteCheckout
from shopcore.cart.model import Quote
from shopcore.cart.queries import checkout_contents
from shopcore.catalog.queries import price_list
from shopcore.customers.queries import email_of
from shopcore.inventory.commands import (
    AllocateReservation,
    ReleaseReservation,
    ReserveStock,
    ShipReservation,
)
from shopcore.ordering.ports import CartContents, HeldPayment, PaymentStanding, PriceQuote
from shopcore.payments.commands import (
    AuthorizePayment,
    CapturePayment,
    ReconcilePayment,
    RecordPayment,
    RefundPayment,
    VoidPayment,
)
from shopcore.payments.model import Payment, PaymentStatus
from shopcore.shared.clock import Clock
from shopcore.shared.messages import Command
from shopcore.shared.money import Money

Result = TypeVar("Result")


# How ordering sees each state of a payment.
STANDING = {
    PaymentStatus.AUTHORIZED: PaymentStanding.HELD,
    PaymentStatus.DECLINED: PaymentStanding.DECLINED,
    PaymentStatus.FAILED: PaymentStanding.FAILED,
    PaymentStatus.CAPTURED: PaymentStanding.CLOSED,
    PaymentStatus.VOIDED: PaymentStanding.CLOSED,
    PaymentStatus.PARTIALLY_REFUNDED: PaymentStanding.CLOSED,
    PaymentStatus.REFUNDED: PaymentStanding.CLOSED,
}


class Sender(Protocol):
    async def handle(self, message: Command[Result]) -> Result: ...

    def joined(self, uow: UnitOfWork) -> AbstractAsyncContextManager[None]: ...


class CartLink:
    def __init__(self, bus: Sender, uow: Callable[[], ShopUnitOfWork], clock: Clock) -> None:
        self._bus = bus
        self._uow = uow
        self._clock = clock

    async def contents(self, cart_id: str, customer_id: str) -> CartContents:
        lines = await checkout_contents(self._uow(), cart_id, customer_id, self._clock.now())
        return CartContents(currency=lines.currency, lines=lines.lines)

    async def claim(
        self, cart_id: str, customer_id: str, order_id: str, lines: Sequence[tuple[str, int]]
    ) -> None:
        await self._bus.handle(
            BeginCheckout(
                cart_id=cart_id, customer_id=customer_id, order_id=order_id, lines=tuple(lines)
            )
        )

    async def complete(self, cart_id: str, order_id: str) -> None:
        await self._bus.handle(CompleteCheckout(cart_id=cart_id, order_id=order_id))

    async def abandon(self, cart_id: str, order_id: str) -> None:
        await self._bus.handle(AbandonCheckout(cart_id=cart_id, order_id=order_id))


class CatalogLink:
    def __init__(self, uow: Callable[[], ShopUnitOfWork]) -> None:
        self._uow = uow

    async def prices(self, skus: Sequence[str]) -> dict[str, PriceQuote]:
        found = await price_list(self._uow(), skus)
        return {
            sku: PriceQuote(sku=sku, name=p.name, price=p.price, sellable=p.sellable)
            for sku, p in found.items()
        }

    async def quotes(self, skus: Sequence[str]) -> dict[str, Quote]:
        found = await price_list(self._uow(), skus)
        return {
            sku: Quote(sku=sku, name=p.name, price=p.price, sellable=p.sellable)
            for sku, p in found.items()
        }


class StockLink:
    def __init__(self, bus: Sender, ttl_seconds: int) -> None:
        self._bus = bus
        self._ttl = ttl_seconds

    async def reserve(self, reservation_id: str, lines: Sequence[tuple[str, int]]) -> None:
        await self._bus.handle(
            ReserveStock(reservation_id=reservation_id, lines=tuple(lines), ttl_seconds=self._ttl)
        )

    async def allocate(self, reservation_id: str) -> None:
        await self._bus.handle(AllocateReservation(reservation_id=reservation_id))

    async def release(self, reservation_id: str) -> None:
        await self._bus.handle(ReleaseReservation(reservation_id=reservation_id))

    async def ship(self, reservation_id: str) -> None:
        await self._bus.handle(ShipReservation(reservation_id=reservation_id))


class PaymentsLink:
    def __init__(self, bus: Sender) -> None:
        self._bus = bus

    async def authorize(
        self, *, payment_id: str, order_id: str, amount: Money, token: str, idempotency_key: str
    ) -> HeldPayment:
        return await self._bus.handle(
            AuthorizePayment(
                payment_id=payment_id,
                order_id=order_id,
                amount=amount,
                token=token,
                idempotency_key=idempotency_key,
                record_approval=False,
            )
        )

    async def record(self, held: HeldPayment) -> None:
        if not isinstance(held, Payment):
            raise TypeError(f"not an authorization of this shop's payments: {held!r}")
        await self._bus.handle(RecordPayment(payment=held))

    async def standing(
        self, *, payment_id: str, order_id: str, amount: Money, idempotency_key: str
    ) -> PaymentStanding:
        payment = await self._bus.handle(
            ReconcilePayment(
                payment_id=payment_id,
                order_id=order_id,
                amount=amount,
                idempotency_key=idempotency_key,
            )
        )
        return PaymentStanding.NONE if payment is None else STANDING[payment.status]

    async def capture(self, payment_id: str, idempotency_key: str) -> None:
        await self._bus.handle(
            CapturePayment(payment_id=payment_id, idempotency_key=idempotency_key)
        )

    async def void(self, payment_id: str, idempotency_key: str) -> None:
        await self._bus.handle(VoidPayment(payment_id=payment_id, idempotency_key=idempotency_key))

    async def refund(self, payment_id: str, amount: Money, idempotency_key: str) -> None:
        await self._bus.handle(
            RefundPayment(payment_id=payment_id, amount=amount, idempotency_key=idempotency_key)
        )


class ContactsLink:
    def __init__(self, uow: Callable[[], ShopUnitOfWork]) -> None:
        self._uow = uow

    async def email_of(self, customer_id: str) -> str | None:
        return await email_of(self._uow(), customer_id)


def in_process_links(
    ttl_seconds: int, clock: Clock
) -> Callable[[Sender, Callable[[], ShopUnitOfWork]], Links]:
    def build(bus: Sender, uow: Callable[[], ShopUnitOfWork]) -> Links:
        catalog = CatalogLink(uow)
        return Links(
            carts=CartLink(bus, uow, clock),
            prices=catalog,
            quotes=catalog,
            stock=StockLink(bus, ttl_seconds),
            payments=PaymentsLink(bus),
            contacts=ContactsLink(uow),
            together=bus.joined,
        )

    return build
