"""Static proof that every adapter satisfies its port: mypy checks these assignments.

The container hands adapters around as `Any`, so without this a signature drifting away
from its Protocol would only show up at run time.
"""

from __future__ import annotations

from adapters.bridges.links import CartLink, CatalogLink, ContactsLink, PaymentsLink, StockLink
from adapters.db.dead_letters import SqlDeadLetters
from adapters.db.outbox import SqlOutboxSource
from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.db.stock import SqlStockLedger
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.cached_reads import CatalogReads, UncachedReads
from adapters.machinery.outbox import DeadLetters, EventPublisher, OutboxSource
from adapters.machinery.stock_feed import StockFeed
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.memory.clock import ManualClock, SystemClock
from adapters.memory.hasher import FastInsecureHasher
from adapters.memory.notifier import LogNotifier, RecordingNotifier
from adapters.memory.stock import MemoryStockLedger
from adapters.memory.stock_feed import InProcessStockFeed
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.messaging.cache import RedisCatalogCache
from adapters.messaging.dead_letters import StreamDeadLetters
from adapters.messaging.stock_feed import RedisStockFeed
from adapters.messaging.streams import RedisStreamPublisher
from adapters.payments.metered import MeteredGateway
from adapters.payments.simulated import SimulatedGateway
from adapters.policies.discounts import NoDiscounts
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import CountryTax
from adapters.security.argon2_hasher import Argon2Hasher
from shopcore.application.bus import MessageBus
from shopcore.bootstrap import Links, ShopUnitOfWork
from shopcore.cart.ports import CatalogQuotes
from shopcore.catalog.ports import CatalogCache
from shopcore.customers.ports import PasswordHasher
from shopcore.inventory.ports import StockLedger
from shopcore.ordering.ports import (
    CartSource,
    CustomerContacts,
    DiscountPolicy,
    Payments,
    PriceList,
    ShippingPolicy,
    StockReservations,
    TaxPolicy,
)
from shopcore.payments.ports import PaymentGateway
from shopcore.shared.clock import Clock
from shopcore.shared.notifications import Notifier


def units_of_work(memory: MemoryUnitOfWork, sql: SqlUnitOfWork) -> tuple[ShopUnitOfWork, ...]:
    return (memory, sql)


def stock_ledgers(memory: MemoryStockLedger, sql: SqlStockLedger) -> tuple[StockLedger, ...]:
    return (memory, sql)


def hashers(argon2: Argon2Hasher, fast: FastInsecureHasher) -> tuple[PasswordHasher, ...]:
    return (argon2, fast)


def gateways(
    memory: SimulatedGateway, sql: SqlSimulatedGateway, metered: MeteredGateway
) -> tuple[PaymentGateway, ...]:
    return (memory, sql, metered)


def clocks(system: SystemClock, manual: ManualClock) -> tuple[Clock, ...]:
    return (system, manual)


def notifiers(log: LogNotifier, recording: RecordingNotifier) -> tuple[Notifier, ...]:
    return (log, recording)


def policies(
    shipping: FlatRateShipping, tax: CountryTax, discounts: NoDiscounts
) -> tuple[ShippingPolicy, TaxPolicy, DiscountPolicy]:
    return (shipping, tax, discounts)


def catalog_caches(
    memory: MemoryCatalogCache, redis: RedisCatalogCache, uncached: UncachedReads
) -> tuple[tuple[CatalogCache, CatalogReads], ...]:
    """Each cache is one object on both sides: the core invalidates, the HTTP adapter reads."""
    return ((memory, memory), (redis, redis), (uncached, uncached))


def stock_feeds(in_process: InProcessStockFeed, redis: RedisStockFeed) -> tuple[StockFeed, ...]:
    return (in_process, redis)


def outbox(
    source: SqlOutboxSource, publisher: RedisStreamPublisher
) -> tuple[OutboxSource, EventPublisher]:
    return (source, publisher)


def dead_letters(sql: SqlDeadLetters, stream: StreamDeadLetters) -> tuple[DeadLetters, ...]:
    return (sql, stream)


def links(
    carts: CartLink,
    catalog: CatalogLink,
    stock: StockLink,
    payments: PaymentsLink,
    contacts: ContactsLink,
    bus: MessageBus,
) -> Links:
    cart_source: CartSource = carts
    prices: PriceList = catalog
    quotes: CatalogQuotes = catalog
    reservations: StockReservations = stock
    paying: Payments = payments
    contact: CustomerContacts = contacts
    return Links(
        carts=cart_source,
        prices=prices,
        quotes=quotes,
        stock=reservations,
        payments=paying,
        contacts=contact,
        together=bus.joined,
    )
