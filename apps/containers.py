"""The composition root: which adapter serves which port.

`settings.database_url` picks the storage: None keeps the shop in memory; a URL selects the
SQL unit of work on SQLite or PostgreSQL. Tests override providers
(`container.gateway.override(...)`) instead of patching.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from adapters.bridges import in_process_links
from adapters.db.engine import create_engine
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.memory.clock import SystemClock
from adapters.memory.notifier import LogNotifier
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
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


def _storage(settings: Settings) -> str:
    return "memory" if settings.database_url is None else "sql"


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
    notifier: providers.Provider[Any] = providers.Singleton(LogNotifier)
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
    )
    shop = providers.Singleton(
        bootstrap,
        uow=unit_of_work.provider,
        ports=ports,
        links=providers.Callable(in_process_links, settings.provided.reservation_ttl_seconds),
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
