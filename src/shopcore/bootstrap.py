"""Wire every context's handlers to the ports that serve them, and hand back a Shop.

The core names no adapter: the composition root (apps/) chooses them and calls `bootstrap`.
Cross-context ports (ordering's view of carts, stock and payments) are built by `links`, which
receives the finished bus, because in one process those adapters send the other context's
commands through that same bus.

Event handlers come in groups (`subscriptions.py`). By default the bus runs them in process
after each commit; with `in_process_events=False` it leaves them to workers that read the
events the outbox relay published (`Shop.groups` is what such a worker delivers to).

Handlers name what they need by parameter, and each name is a field of `Ports` or `Links`
(`clock`, `quotes`): the map they are served from is derived from those fields, so a new port
is one new field, and a field name used by both dataclasses is refused at bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, TypeVar, cast, overload

from shopcore.application.bus import CommandTable, EventHandler, EventTable, MessageBus
from shopcore.application.groups import GroupDelivery
from shopcore.application.injection import inject, provided_by
from shopcore.application.processed import IdempotentUnitOfWork
from shopcore.application.unit_of_work import Together
from shopcore.cart import handlers as cart
from shopcore.cart.ports import CartUnitOfWork, CatalogQuotes
from shopcore.catalog import handlers as catalog
from shopcore.catalog.ports import CatalogCache, CatalogUnitOfWork, CatalogViews, NoCatalogCache
from shopcore.customers import handlers as customers
from shopcore.customers.ports import CustomersUnitOfWork, PasswordHasher
from shopcore.customers.sessions import SESSION_TTL
from shopcore.inventory import handlers as inventory
from shopcore.inventory.ports import InventoryUnitOfWork, StockViews
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
from shopcore.shared.messages import Command, Event
from shopcore.shared.notifications import Notifier
from shopcore.storefront import ProductPages
from shopcore.subscriptions import HANDLER_GROUPS

Result = TypeVar("Result")


class ShopUnitOfWork(
    CatalogUnitOfWork,
    InventoryUnitOfWork,
    CartUnitOfWork,
    OrderingUnitOfWork,
    PaymentsUnitOfWork,
    CustomersUnitOfWork,
    IdempotentUnitOfWork,
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
    # One transaction across the links' calls (a checkout's reservation, order and cart).
    together: Together


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
    # The catalog as shoppers read it (`catalog.queries.list_products`, `get_product`).
    catalog_views: CatalogViews
    # Stock levels as the storefront reads them (`inventory.queries.availability`).
    stock_views: StockViews
    # A product with its variants' stock, as its page shows it (`storefront.product_page`).
    product_pages: ProductPages
    # How long a refresh session lives; each rotation starts the clock again.
    session_ttl: timedelta = SESSION_TTL
    # How long an order's multi-step work (a checkout, a cancellation, a shipment, a refund)
    # may take before the recovery job finishes it.
    settle_within: timedelta = timedelta(seconds=60)
    # The longest any call to `gateway` takes: the composition root bounds it
    # (adapters/payments/bounded.py). A checkout asks for no authorization later than its
    # deadline less this. Shorter than `settle_within`.
    gateway_timeout: timedelta = timedelta(seconds=20)
    catalog_cache: CatalogCache = field(default_factory=NoCatalogCache)


@dataclass(frozen=True)
class Shop:
    """The running core: send it commands; read with the query modules, through `uow()` or,
    for the catalog's listings and details and for stock levels, through
    `ports.catalog_views` and `ports.stock_views`."""

    bus: MessageBus
    uow: Callable[[], ShopUnitOfWork]
    ports: Ports
    links: Links
    # Each handler group with its dependencies bound, by name: what a worker delivers to.
    groups: Mapping[str, GroupDelivery] = field(default_factory=dict)

    @overload
    async def handle(self, message: Command[Result]) -> Result: ...

    @overload
    async def handle(self, message: Event) -> None: ...

    async def handle(self, message: Command[Result] | Event) -> Result | None:
        """Run a command and return what it declares (`PlaceOrder` -> Order), or publish an
        event; either way the events that follow are handled too."""
        return await self.bus.handle(message)


COMMAND_HANDLERS: CommandTable = {
    **catalog.COMMAND_HANDLERS,
    **inventory.COMMAND_HANDLERS,
    **cart.COMMAND_HANDLERS,
    **ordering.COMMAND_HANDLERS,
    **payments.COMMAND_HANDLERS,
    **customers.COMMAND_HANDLERS,
}
EVENT_HANDLERS: EventTable = {}
for _group in HANDLER_GROUPS:
    for _kind, _subscribers in _group.handlers.items():
        EVENT_HANDLERS.setdefault(_kind, []).extend(_subscribers)


def bootstrap(
    *,
    uow: Callable[[], ShopUnitOfWork],
    ports: Ports,
    links: Callable[[MessageBus, Callable[[], ShopUnitOfWork]], Links],
    in_process_events: bool = True,
) -> Shop:
    bus = MessageBus(uow, {}, {})

    def reading() -> ShopUnitOfWork:
        """The unit a link's query reads through: the enclosing block's inside one (a
        checkout's cart is read in the transaction that holds it), else a fresh one."""
        enclosing = bus.enclosing()
        return uow() if enclosing is None else cast(ShopUnitOfWork, enclosing)

    linked = links(bus, reading)
    dependencies = provided_by(ports, linked)
    for command, handler in COMMAND_HANDLERS.items():
        bus.register(command, inject(handler, dependencies))
    groups: dict[str, GroupDelivery] = {}
    for group in HANDLER_GROUPS:
        bound: dict[type[Event], list[EventHandler]] = {
            kind: [inject(subscriber, dependencies) for subscriber in subscribers]
            for kind, subscribers in group.handlers.items()
        }
        groups[group.name] = GroupDelivery(
            group.name, bound, uow, record_processed=group.record_processed
        )
        if in_process_events:
            # Delivered once, in the process that committed: no processed-event record needed.
            for kind, handlers in bound.items():
                for handler in handlers:
                    bus.subscribe(kind, handler)
    return Shop(bus=bus, uow=uow, ports=ports, links=linked, groups=groups)
