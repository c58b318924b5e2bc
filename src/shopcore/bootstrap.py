"""Wire every context's handlers to the ports that serve them, and hand back a Shop.

The core names no adapter: the composition root (apps/) chooses them and calls `bootstrap`.
Cross-context ports (ordering's view of carts, stock and payments) are built by `links`, which
receives the finished bus, because in one process those adapters send the other context's
commands through that same bus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shopcore.application.bus import CommandTable, EventTable, MessageBus
from shopcore.application.injection import inject
from shopcore.cart import handlers as cart
from shopcore.cart.ports import CartUnitOfWork, CatalogQuotes
from shopcore.catalog import handlers as catalog
from shopcore.catalog.ports import CatalogUnitOfWork
from shopcore.customers import handlers as customers
from shopcore.customers.ports import CustomersUnitOfWork, PasswordHasher
from shopcore.inventory import handlers as inventory
from shopcore.inventory.ports import InventoryUnitOfWork
from shopcore.ordering import handlers as ordering
from shopcore.ordering.ports import (
    CartSource,
    CustomerContacts,
    DiscountPolicy,
    OrderingUnitOfWork,
    Payments,
    PriceList,
    ShippingPolicy,
    StockReservations,
    TaxPolicy,
)
from shopcore.payments import handlers as payments
from shopcore.payments.ports import PaymentGateway, PaymentsUnitOfWork
from shopcore.shared.clock import Clock
from shopcore.shared.messages import Message
from shopcore.shared.notifications import Notifier


class ShopUnitOfWork(
    CatalogUnitOfWork,
    InventoryUnitOfWork,
    CartUnitOfWork,
    OrderingUnitOfWork,
    PaymentsUnitOfWork,
    CustomersUnitOfWork,
    Protocol,
):
    """A unit of work that reaches every context's repositories (one shared database)."""


@dataclass(frozen=True, kw_only=True)
class Links:
    """The narrow ports through which contexts reach one another."""

    carts: CartSource
    prices: PriceList
    quotes: CatalogQuotes
    stock: StockReservations
    payments: Payments
    contacts: CustomerContacts


@dataclass(frozen=True, kw_only=True)
class Ports:
    clock: Clock
    currency: str
    hasher: PasswordHasher
    gateway: PaymentGateway
    notifier: Notifier
    shipping: ShippingPolicy
    tax: TaxPolicy
    discounts: DiscountPolicy


@dataclass(frozen=True)
class Shop:
    """The running core: send it commands; read through `uow()` with the query modules."""

    bus: MessageBus
    uow: Callable[[], ShopUnitOfWork]
    ports: Ports
    links: Links

    async def handle(self, message: Message) -> Any:
        return await self.bus.handle(message)


COMMAND_HANDLERS: CommandTable = {
    **catalog.COMMAND_HANDLERS,
    **inventory.COMMAND_HANDLERS,
    **cart.COMMAND_HANDLERS,
    **ordering.COMMAND_HANDLERS,
    **payments.COMMAND_HANDLERS,
    **customers.COMMAND_HANDLERS,
}
EVENT_HANDLERS: EventTable = {**ordering.EVENT_HANDLERS}


def bootstrap(
    *,
    uow: Callable[[], ShopUnitOfWork],
    ports: Ports,
    links: Callable[[MessageBus, Callable[[], ShopUnitOfWork]], Links],
) -> Shop:
    bus = MessageBus(uow, {}, {})
    linked = links(bus, uow)
    dependencies: dict[str, object] = {
        "clock": ports.clock,
        "currency": ports.currency,
        "hasher": ports.hasher,
        "gateway": ports.gateway,
        "notifier": ports.notifier,
        "shipping": ports.shipping,
        "tax": ports.tax,
        "discounts": ports.discounts,
        "carts": linked.carts,
        "prices": linked.prices,
        "catalog": linked.quotes,
        "stock": linked.stock,
        "payments": linked.payments,
        "contacts": linked.contacts,
    }
    for command, handler in COMMAND_HANDLERS.items():
        bus.register(command, inject(handler, dependencies))
    for event, subscribers in EVENT_HANDLERS.items():
        for subscriber in subscribers:
            bus.subscribe(event, inject(subscriber, dependencies))
    return Shop(bus=bus, uow=uow, ports=ports, links=linked)
