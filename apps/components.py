"""The composition root: which adapter serves which port, each built once, on first use.

`Components(settings)` is the one place that turns settings into adapters; the API
(apps/api.py), the worker (apps/worker.py), the CLI's commands and the tests all build the
shop through it. Each property builds its adapter the first time something asks for it and
returns the same one after, so a process builds only what it uses: `shopcore create-staff`
never imports Redis, and an API without Redis never connects to it. What a builder opens
(the engine's pool, Redis clients, the cache's listener) is closed by `aclose()`, in the
reverse order of opening.

Settings pick the adapters:
- `database_url`: None keeps the shop in memory; a URL selects the SQL unit of work on SQLite
  or PostgreSQL, and keeps the simulated payment gateway's books in that database too, so
  every process (and every restart) talks to one bank;
- `events_in_process` (no Redis, or no SQL database): event handlers run in the process that
  committed, catalog reads are cached in its memory and live stock comes from its own bus;
  otherwise the outbox relay and `shopcore worker` deliver the events, the catalog cache is in
  Redis (with a near copy in each process) and live stock follows the event stream;
- notifications go out by SMTP when SHOPCORE_SMTP_URL is set, else to SHOPCORE_MAIL_FILE when
  that is set, else to the log.

Tests swap an adapter by handing it in (`Components(settings, gateway=SimulatedGateway())`):
an adapter given is used as if it had been built, by everything that depends on it.

Plain typed properties, not a dependency-injection container: every adapter here has a type
mypy checks at each use (the container's providers were `Provider[Any]`), and its async
resources fit no provider (an async `Resource` turns every provider that depends on it async,
the unit-of-work factory included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.bridges import in_process_links
from adapters.db.catalog_views import SqlCatalogViews
from adapters.db.driver_reads import Reads, reads_for
from adapters.db.engine import create_engine
from adapters.db.product_pages import SqlProductPages
from adapters.db.replica_reads import ReplicaReads
from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.db.stock_views import SqlStockViews
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.cached_reads import CatalogReads, UncachedReads
from adapters.machinery.product_pages import ComposedProductPages
from adapters.machinery.stock_feed import StockFeed
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.memory.catalog_views import MemoryCatalogViews
from adapters.memory.clock import SystemClock
from adapters.memory.notifier import LogNotifier
from adapters.memory.stock_feed import InProcessStockFeed
from adapters.memory.stock_views import MemoryStockViews
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.notify.file import FileNotifier
from adapters.payments.bounded import BoundedGateway
from adapters.payments.metered import MeteredGateway
from adapters.payments.simulated import SimulatedGateway
from adapters.policies.discounts import NoDiscounts
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import EU_STANDARD_RATES, CountryTax
from adapters.security.argon2_hasher import Argon2Hasher
from apps.settings import Settings
from shopcore.bootstrap import Ports, Shop, ShopUnitOfWork, bootstrap
from shopcore.catalog.ports import CatalogCache, CatalogViews
from shopcore.customers.ports import PasswordHasher
from shopcore.inventory.events import StockChanged
from shopcore.inventory.ports import StockViews
from shopcore.ordering.ports import DiscountPolicy
from shopcore.payments.ports import PaymentGateway
from shopcore.shared.clock import Clock
from shopcore.shared.money import Money
from shopcore.shared.notifications import Notifier
from shopcore.storefront import ProductPages

if TYPE_CHECKING:
    from adapters.messaging.connection import RedisClient


class CatalogCaching(CatalogReads, CatalogCache, Protocol):
    """One cache object serves both sides: the HTTP controllers read through it, the core's
    handlers invalidate it."""


class RunningStockFeed(StockFeed, Protocol):
    """A live-stock feed the API starts and stops with its own lifespan."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Components:
    """Every adapter the settings call for; see the module docstring."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        store: MemoryStore | None = None,
        unit_of_work: Callable[[], ShopUnitOfWork] | None = None,
        hasher: PasswordHasher | None = None,
        gateway: PaymentGateway | None = None,
        notifier: Notifier | None = None,
        discounts: DiscountPolicy | None = None,
        catalog_cache: CatalogCaching | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        given = {
            "clock": clock,
            "store": store,
            "unit_of_work": unit_of_work,
            "hasher": hasher,
            "gateway": gateway,
            "notifier": notifier,
            "discounts": discounts,
            "catalog_cache": catalog_cache,
        }
        # A given adapter is the cached value of its property: it is never built.
        self.__dict__.update({name: value for name, value in given.items() if value is not None})
        self._closers: list[Callable[[], Awaitable[object]]] = []

    async def aclose(self) -> None:
        """Close what the builders opened, newest first; each closer runs once."""
        while self._closers:
            await self._closers.pop()()

    async def __aenter__(self) -> Components:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # The core --------------------------------------------------------------------------

    @cached_property
    def shop(self) -> Shop:
        return bootstrap(
            uow=self.unit_of_work,
            ports=self.ports,
            links=in_process_links(self.settings.reservation_ttl_seconds, self.clock),
            in_process_events=self.settings.events_in_process,
        )

    @cached_property
    def ports(self) -> Ports:
        settings = self.settings
        return Ports(
            clock=self.clock,
            currency=settings.currency,
            hasher=self.hasher,
            # Every gateway, built or given, is cut off at the gateway timeout (the checkout
            # counts on it: adapters/payments/bounded.py) and timed for /metrics.
            gateway=MeteredGateway(
                BoundedGateway(self.gateway, timedelta(seconds=settings.gateway_timeout_seconds))
            ),
            notifier=self.notifier,
            shipping=FlatRateShipping(
                rate=Money(settings.shipping_rate, settings.currency),
                free_from=None
                if settings.free_shipping_from is None
                else Money(settings.free_shipping_from, settings.currency),
            ),
            tax=CountryTax(rates=EU_STANDARD_RATES, default=settings.default_tax_rate),
            discounts=self.discounts,
            session_ttl=timedelta(days=settings.refresh_token_days),
            settle_within=timedelta(seconds=settings.settle_within_seconds),
            gateway_timeout=timedelta(seconds=settings.gateway_timeout_seconds),
            catalog_cache=self.catalog_cache,
            catalog_views=self.catalog_views,
            stock_views=self.stock_views,
            product_pages=self.product_pages,
        )

    # Storage ---------------------------------------------------------------------------

    @cached_property
    def unit_of_work(self) -> Callable[[], ShopUnitOfWork]:
        if self.settings.database_url is None:
            store = self.store
            return lambda: MemoryUnitOfWork(store)
        engine, now = self.engine, self.clock.now
        if self.settings.tracing:
            # Each outbox row keeps the trace context of the span that wrote it, so the
            # worker's handling continues that trace (apps/tracing.py).
            from apps.tracing import trace_context_writer

            trace = trace_context_writer()
            return lambda: SqlUnitOfWork(engine, now=now, trace=trace)
        return lambda: SqlUnitOfWork(engine, now=now)

    @cached_property
    def catalog_views(self) -> CatalogViews:
        """The catalog's listings and details: from the read replicas when there are any
        (a catalog a moment behind is fine), else where the units of work write."""
        if self.settings.database_url is None:
            return MemoryCatalogViews(self.store)
        return SqlCatalogViews(self.engine, reads=self.catalog_reads_source)

    @cached_property
    def stock_views(self) -> StockViews:
        """Stock levels for the storefront, read from where the units of work write."""
        if self.settings.database_url is None:
            return MemoryStockViews(self.store)
        return SqlStockViews(self.engine)

    @cached_property
    def product_pages(self) -> ProductPages:
        """Product pages: one statement on SQL, the two read ports in turn in memory."""
        if self.settings.database_url is None:
            return ComposedProductPages(self.catalog_views, self.stock_views)
        return SqlProductPages(self.engine, reads=self.catalog_reads_source)

    @cached_property
    def catalog_reads_source(self) -> Reads | None:
        """The replicas in turn, the primary when none answers; None: the primary's own way."""
        urls = self.settings.database_read_url
        if not urls:
            return None
        replicas = []
        for number, url in enumerate(urls):
            engine = create_engine(
                url,
                pool_size=self.settings.database_pool_size,
                pool_timeout=self.settings.database_pool_timeout_seconds,
                transaction_pooler=self.settings.database_transaction_pooler,
                pool_label=f"replica-{number}",
            )
            self._closers.append(engine.dispose)
            replicas.append(reads_for(engine))
        return ReplicaReads(replicas, reads_for(self.engine))

    @cached_property
    def store(self) -> MemoryStore:
        return MemoryStore()

    @cached_property
    def engine(self) -> AsyncEngine:
        settings = self.settings
        if settings.database_url is None:
            raise ValueError("SHOPCORE_DATABASE_URL is not set: the shop keeps no database")
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
            transaction_pooler=settings.database_transaction_pooler,
        )
        self._closers.append(engine.dispose)
        return engine

    # Other ports -----------------------------------------------------------------------

    @cached_property
    def clock(self) -> Clock:
        return SystemClock()

    @cached_property
    def hasher(self) -> PasswordHasher:
        return Argon2Hasher()

    @cached_property
    def gateway(self) -> PaymentGateway:
        """The simulated gateway (test tokens): its books in the shop's database when there is
        one, since a charge authorized through one API process may be captured through
        another; else in this process's memory."""
        if self.settings.database_url is None:
            return SimulatedGateway()
        return SqlSimulatedGateway(self.engine)

    @cached_property
    def discounts(self) -> DiscountPolicy:
        return NoDiscounts()

    @cached_property
    def notifier(self) -> Notifier:
        settings = self.settings
        if settings.smtp_url is not None:
            from adapters.notify.smtp import SmtpNotifier, SmtpServer

            return SmtpNotifier(
                server=SmtpServer.from_url(settings.smtp_url), sender=settings.mail_from
            )
        if settings.mail_file is not None:
            return FileNotifier(path=Path(settings.mail_file))
        return LogNotifier()

    # Caching and live stock ------------------------------------------------------------

    @cached_property
    def catalog_cache(self) -> CatalogCaching:
        settings = self.settings
        if settings.catalog_cache_seconds == 0:
            return UncachedReads()
        if settings.events_in_process:
            return MemoryCatalogCache(ttl_seconds=settings.catalog_cache_seconds)
        from adapters.messaging.cache import RedisCatalogCache

        # Each API process keeps its own copy in front of Redis too (0 turns it off).
        near_seconds = min(settings.catalog_near_cache_seconds, settings.catalog_cache_seconds)
        cache = RedisCatalogCache(
            self.redis,
            namespace=settings.redis_namespace,
            ttl_seconds=settings.catalog_cache_seconds,
            near=MemoryCatalogCache(ttl_seconds=near_seconds) if near_seconds > 0 else None,
        )
        self._closers.append(cache.close)  # stops listening before the client closes
        return cache

    @cached_property
    def stock_feed(self) -> RunningStockFeed:
        """Live stock for the API's stream endpoint: fed by this process's bus (embedded), or
        read from the event stream once workers deliver the events. The API starts it."""
        if self.settings.events_in_process:
            feed = InProcessStockFeed(clock=self.clock)
            self.shop.bus.subscribe(StockChanged, feed.on_stock_changed)
            return feed
        from adapters.messaging.stock_feed import RedisStockFeed
        from adapters.messaging.streams import EventStreams

        return RedisStockFeed(
            redis=self.streams_redis, streams=EventStreams.named(self.settings.events_stream)
        )

    # Redis -----------------------------------------------------------------------------

    @cached_property
    def redis(self) -> RedisClient:
        """Bytes in, bytes out: the rate-limit store and the catalog cache keep raw bytes.
        Both can do without Redis for a while, so a Redis that stops answering (a host gone
        silent, not one that refuses) must fail their calls soon, not hold requests up."""
        from adapters.messaging.connection import open_client

        client = open_client(
            self._redis_url(),
            cluster=self.settings.redis_cluster,
            socket_connect_timeout=2,
            socket_timeout=2,
        )
        self._closers.append(client.aclose)
        return client

    @cached_property
    def streams_redis(self) -> RedisClient:
        """The event stream's client (decoded fields, its own timeouts)."""
        from adapters.messaging.connection import connect

        client = connect(self._redis_url(), cluster=self.settings.redis_cluster)
        self._closers.append(client.aclose)
        return client

    def _redis_url(self) -> str:
        if self.settings.redis_url is None:
            raise ValueError("SHOPCORE_REDIS_URL is not set")
        return self.settings.redis_url


def in_memory_shop() -> Shop:
    """A complete shop in memory, as the library's default settings describe it
    (`Components(gateway=..., clock=...).shop` swaps adapters)."""
    return Components().shop
