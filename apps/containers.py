"""The composition root: which adapter serves which port.

`settings.database_url` picks the storage: None keeps the shop in memory; a URL selects the
SQL unit of work on SQLite or PostgreSQL. Tests override providers
(`container.gateway.override(...)`) instead of patching.

Event handlers run in process unless `settings.events_in_process` is false (Redis and SQL are
both configured): then the outbox relay and `shopcore worker` deliver events (apps/worker.py).
The same choice picks where catalog reads are cached and where live stock comes from: in the
process's memory, fed by its own bus, or in Redis, fed by the workers and the event stream.
Notifications go out by SMTP when SHOPCORE_SMTP_URL is set, else to SHOPCORE_MAIL_FILE when
that is set, else to the log.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers
from redis.asyncio import Redis

from adapters.bridges import in_process_links
from adapters.db.engine import create_engine
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.machinery.cached_reads import UncachedReads
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.memory.clock import SystemClock
from adapters.memory.notifier import LogNotifier
from adapters.memory.stock_feed import InProcessStockFeed
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.messaging.cache import RedisCatalogCache
from adapters.messaging.connection import connect
from adapters.messaging.stock_feed import RedisStockFeed
from adapters.messaging.streams import EventStreams
from adapters.notify.file import FileNotifier
from adapters.notify.smtp import SmtpNotifier, SmtpServer
from adapters.payments.simulated import SimulatedGateway
from adapters.policies.discounts import NoDiscounts
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import EU_STANDARD_RATES, CountryTax
from adapters.security.argon2_hasher import Argon2Hasher
from apps.settings import Settings
from shopcore.bootstrap import Ports, Shop, bootstrap
from shopcore.shared.money import Money


def _money(amount: int | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _days(days: int) -> timedelta:
    return timedelta(days=days)


def _storage(settings: Settings) -> str:
    return "memory" if settings.database_url is None else "sql"


def _mail(settings: Settings) -> str:
    if settings.smtp_url is not None:
        return "smtp"
    return "log" if settings.mail_file is None else "file"


def _delivery(settings: Settings) -> str:
    return "in_process" if settings.events_in_process else "redis"


def _catalog_cache(settings: Settings) -> str:
    return "none" if settings.catalog_cache_seconds == 0 else _delivery(settings)


def _near_cache(settings: Settings) -> MemoryCatalogCache | None:
    """Each API process's own copy in front of the Redis catalog cache (0 turns it off)."""
    seconds = min(settings.catalog_near_cache_seconds, settings.catalog_cache_seconds)
    return MemoryCatalogCache(ttl_seconds=seconds) if seconds > 0 else None


def _redis(url: str | None) -> Redis:
    """Bytes in, bytes out: the rate-limit store and the catalog cache keep raw bytes."""
    if url is None:
        raise ValueError("SHOPCORE_REDIS_URL is not set")
    return Redis.from_url(url)


def _streams_client(url: str | None) -> Redis:
    if url is None:
        raise ValueError("SHOPCORE_REDIS_URL is not set")
    return connect(url)


def _smtp_server(url: str | None) -> SmtpServer:
    return SmtpServer.from_url(url or "")


def _path(value: str | None) -> Path:
    return Path(value or "mail.jsonl")


class ShopContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings, default=Settings())

    clock: providers.Provider[Any] = providers.Singleton(SystemClock)
    store = providers.Singleton(MemoryStore)
    engine: providers.Provider[Any] = providers.Singleton(
        create_engine,
        url=settings.provided.database_url,
        pool_size=settings.provided.database_pool_size,
        pool_timeout=settings.provided.database_pool_timeout_seconds,
    )
    unit_of_work: providers.Provider[Any] = providers.Selector(
        providers.Callable(_storage, settings),
        memory=providers.Factory(MemoryUnitOfWork, store=store),
        sql=providers.Factory(SqlUnitOfWork, engine=engine, now=clock.provided.now),
    )

    hasher: providers.Provider[Any] = providers.Singleton(Argon2Hasher)
    gateway: providers.Provider[Any] = providers.Singleton(SimulatedGateway)
    notifier: providers.Provider[Any] = providers.Selector(
        providers.Callable(_mail, settings),
        log=providers.Singleton(LogNotifier),
        file=providers.Singleton(
            FileNotifier, path=providers.Callable(_path, settings.provided.mail_file)
        ),
        smtp=providers.Singleton(
            SmtpNotifier,
            server=providers.Callable(_smtp_server, settings.provided.smtp_url),
            sender=settings.provided.mail_from,
        ),
    )
    # Created on first use; whoever uses one closes it (apps/api.py, apps/worker.py).
    redis: providers.Provider[Any] = providers.Singleton(_redis, settings.provided.redis_url)
    streams_redis: providers.Provider[Any] = providers.Singleton(
        _streams_client, settings.provided.redis_url
    )
    catalog_cache: providers.Provider[Any] = providers.Selector(
        providers.Callable(_catalog_cache, settings),
        none=providers.Singleton(UncachedReads),
        in_process=providers.Singleton(
            MemoryCatalogCache, ttl_seconds=settings.provided.catalog_cache_seconds
        ),
        redis=providers.Singleton(
            RedisCatalogCache,
            redis=redis,
            namespace=settings.provided.redis_namespace,
            ttl_seconds=settings.provided.catalog_cache_seconds,
            near=providers.Callable(_near_cache, settings),
        ),
    )
    # Live stock for the API's stream endpoint (apps/api.py starts and feeds it).
    stock_feed: providers.Provider[Any] = providers.Selector(
        providers.Callable(_delivery, settings),
        in_process=providers.Singleton(InProcessStockFeed, clock=clock),
        redis=providers.Singleton(
            RedisStockFeed,
            redis=streams_redis,
            streams=providers.Callable(EventStreams.named, settings.provided.events_stream),
        ),
    )
    shipping: providers.Provider[Any] = providers.Singleton(
        FlatRateShipping,
        rate=providers.Callable(Money, settings.provided.shipping_rate, settings.provided.currency),
        free_from=providers.Callable(
            _money, settings.provided.free_shipping_from, settings.provided.currency
        ),
    )
    tax: providers.Provider[Any] = providers.Singleton(
        CountryTax, rates=EU_STANDARD_RATES, default=settings.provided.default_tax_rate
    )
    discounts: providers.Provider[Any] = providers.Singleton(NoDiscounts)

    ports = providers.Singleton(
        Ports,
        clock=clock,
        currency=settings.provided.currency,
        hasher=hasher,
        gateway=gateway,
        notifier=notifier,
        shipping=shipping,
        tax=tax,
        discounts=discounts,
        session_ttl=providers.Callable(_days, settings.provided.refresh_token_days),
        catalog_cache=catalog_cache,
    )
    shop = providers.Singleton(
        bootstrap,
        uow=unit_of_work.provider,
        ports=ports,
        links=providers.Callable(in_process_links, settings.provided.reservation_ttl_seconds),
        in_process_events=settings.provided.events_in_process,
    )


def in_memory_shop(**overrides: object) -> Shop:
    """A complete shop in memory: `in_memory_shop(gateway=..., clock=...)` swaps adapters."""
    container = ShopContainer()
    for name, value in overrides.items():
        provider = getattr(container, name)
        provider.override(providers.Object(value))
    container.check_dependencies()
    shop: Shop = container.shop()
    return shop
