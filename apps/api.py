"""The API's composition root: settings -> container -> `create_app(ApiServices(...))`.

`shopcore serve` runs `app_from_env` under uvicorn (one call per worker process); tests call
`build_app(settings, **overrides)` with providers overridden instead of patching.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from dependency_injector import providers
from litestar import Litestar
from litestar.stores.redis import RedisStore
from sqlalchemy import text

from adapters.db.idempotency import SqlIdempotencyStore
from adapters.http import ApiServices, create_app
from adapters.http.config import HttpConfig
from adapters.http.security import TokenService
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.messaging.cache import RedisCatalogCache
from apps.containers import ShopContainer
from apps.settings import Settings
from shopcore.inventory.events import StockChanged

logger = logging.getLogger("shopcore.api")


def http_config(settings: Settings, jwt_secret: str) -> HttpConfig:
    return HttpConfig(
        jwt_secret=jwt_secret,
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
        access_token_seconds=settings.access_token_seconds,
        stream_heartbeat_seconds=settings.stream_heartbeat_ms / 1000,
        refresh_token_days=settings.refresh_token_days,
        cors_origins=settings.cors_origins,
        webhook_secret=settings.webhook_secret or "",
        rate_limit_per_minute=settings.rate_limit_per_minute,
        auth_rate_limit_per_minute=settings.auth_rate_limit_per_minute,
        checkout_rate_limit_per_minute=settings.checkout_rate_limit_per_minute,
    )


def signing_key(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    logger.warning(
        "SHOPCORE_JWT_SECRET is not set: using a random signing key; access tokens will not "
        "survive a restart. Set it for anything but a local demo."
    )
    return secrets.token_urlsafe(48)


def build_app(settings: Settings, **overrides: object) -> Litestar:
    container = ShopContainer(settings=settings)
    for name, value in overrides.items():
        getattr(container, name).override(providers.Object(value))
    container.check_dependencies()
    config = http_config(settings, signing_key(settings))
    shop = container.shop()
    # One cache object: the core's Ports invalidate it, the HTTP controllers read through it.
    catalog_cache = container.catalog_cache()
    readiness: list[tuple[str, Any]] = []
    on_startup: list[Any] = []
    on_shutdown: list[Any] = []
    if settings.database_url is not None:
        engine = container.engine()
        idempotency: Any = SqlIdempotencyStore(engine)

        async def database() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        readiness.append(("database", database))
        on_shutdown.append(engine.dispose)
    else:
        idempotency = MemoryIdempotencyStore()
    store_factory = None
    # Live stock: fed by this process's bus (embedded), or read from the event stream by one
    # reader task per process once workers deliver the events.
    feed = container.stock_feed()
    if settings.events_in_process:
        shop.bus.subscribe(StockChanged, feed.on_stock_changed)
    on_startup.append(feed.start)
    on_shutdown.append(feed.stop)
    if not settings.events_in_process:
        on_shutdown.append(container.streams_redis().aclose)
    if settings.redis_url is not None:
        # Rate-limit counters shared by every API process, so N processes allow the limit
        # once, not N times. The same client serves the catalog cache.
        redis = container.redis()
        root = RedisStore(redis, namespace=settings.redis_namespace)
        store_factory = root.with_namespace

        async def redis_ping() -> None:
            await redis.ping()

        readiness.append(("redis", redis_ping))
        if isinstance(catalog_cache, RedisCatalogCache):  # stops listening before the client closes
            on_shutdown.append(catalog_cache.close)
        on_shutdown.append(redis.aclose)
    services = ApiServices(
        shop=shop,
        tokens=TokenService(
            config.jwt_secret,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            ttl_seconds=config.access_token_seconds,
        ),
        idempotency=idempotency,
        config=config,
        readiness=readiness,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        store_factory=store_factory,
        catalog_reads=catalog_cache,
        stock_feed=feed,
    )
    return create_app(services)


def app_from_env() -> Litestar:
    """uvicorn's factory: each worker reads the same environment."""
    return build_app(Settings.from_env())


IDEMPOTENCY_TTL = timedelta(hours=24)
