"""The composition root: which adapter serves which port.

`settings.database_url` picks the storage: None keeps the shop in memory; a URL selects the
SQL unit of work on SQLite or PostgreSQL. Tests override providers
(`container.gateway.override(...)`) instead of patching.

Event handlers run in process unless `settings.events_in_process` is false (Redis and SQL are
both configured): then the outbox relay and `shopcore worker` deliver events (apps/worker.py).
Notifications go out by SMTP when SHOPCORE_SMTP_URL is set, else to SHOPCORE_MAIL_FILE when
that is set, else to the log.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from adapters.bridges import in_process_links
from adapters.db.engine import create_engine
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.memory.clock import SystemClock
from adapters.memory.notifier import LogNotifier
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.notify.file import FileNotifier
from adapters.notify.smtp import SmtpNotifier, SmtpServer
from adapters.payments.simulated import SimulatedGateway
from adapters.policies.discounts import NoDiscounts
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import EU_STANDARD_RATES, CountryTax
from adapters.security.argon2_hasher import Argon2Hasher
from apps.settings import Settings
from shopcore.bootstrap import Ports, Shop, bootstrap
from shopcore.catalog.ports import NoCatalogCache
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
    # The cache helper's Redis cache replaces this null object when Redis is configured.
    catalog_cache: providers.Provider[Any] = providers.Singleton(NoCatalogCache)
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
