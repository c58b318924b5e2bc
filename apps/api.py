"""The API's entry: settings -> `Components` -> `create_app(ApiServices(...))`.

`shopcore serve` builds the app the same way in each granian worker (apps/server.py); tests call
`build_app(Components(settings, gateway=...))` with the adapters they swap.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar
from litestar.stores.redis import RedisStore
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import schema_revision
from adapters.db.errors import translated
from adapters.db.idempotency import SqlIdempotencyStore
from adapters.db.stock import learn_sole_locations
from adapters.http import ApiServices, create_app
from adapters.http.config import HttpConfig
from adapters.http.security import TokenService
from adapters.http.services import ReadinessCheck
from adapters.machinery.revocations import LocalRevocations, Revocations
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.messaging.revocations import RedisRevocations
from apps.backlogs import backlog_gauges
from apps.components import Components
from apps.jobs import Periodic, recover_orders
from apps.settings import Settings
from apps.tracing import instrument_stores, provider_for, traced_asgi
from shopcore.application.idempotency import IdempotencyStore
from shopcore.customers.events import PasswordChanged, RefreshTokenReused, SessionEnded
from shopcore.shared.errors import ConnectionLost

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("shopcore.api")


def http_config(settings: Settings, jwt_secret: str) -> HttpConfig:
    return HttpConfig(
        jwt_secret=jwt_secret,
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
        access_token_seconds=settings.access_token_seconds,
        stream_heartbeat_seconds=settings.stream_heartbeat_ms / 1000,
        stream_max_per_client=settings.stream_max_per_client,
        stream_max_per_process=settings.stream_max_per_process,
        stream_max_seconds=settings.stream_max_seconds,
        refresh_token_days=settings.refresh_token_days,
        cors_origins=settings.cors_origins,
        trusted_proxies=settings.trusted_proxies,
        webhook_secret=settings.webhook_secret or "",
        metrics_token=settings.metrics_token or "",
        rate_limit_per_minute=settings.rate_limit_per_minute,
        auth_rate_limit_per_minute=settings.auth_rate_limit_per_minute,
        checkout_rate_limit_per_minute=settings.checkout_rate_limit_per_minute,
        settle_within_seconds=settings.settle_within_seconds,
    )


def signing_key(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    logger.warning(
        "SHOPCORE_JWT_SECRET is not set: using a random signing key; access tokens will not "
        "survive a restart. Set it for anything but a local demo."
    )
    return secrets.token_urlsafe(48)


async def _learn_sole_locations(engine: AsyncEngine) -> None:
    """Where each SKU kept at one location is, so that reserving it reads no levels first
    (SqlStockLedger.sole_locations). Only a head start: without it the process learns them
    one checkout at a time, so a database that does not answer yet delays nothing."""
    try:
        learned = await learn_sole_locations(engine)
    except Exception as error:
        # A head start must never stop the start: the database down, or not migrated yet
        # (readiness reports either), and the locations are learned later.
        logger.warning(
            "stock locations not loaded at start (%s); learned as checkouts go",
            type(error).__name__,
        )
        return
    logger.info("stock locations: %d SKUs kept at one location", learned)


def build_app(components: Components, tracer_provider: Any = None) -> Litestar:
    """The API over `components`; the app's shutdown stops the feed and closes them.
    `tracer_provider`: where its traces go (tests); by default SHOPCORE_TRACING decides."""
    settings = components.settings
    if tracer_provider is None and settings.tracing:
        tracer_provider = provider_for("shopcore-api")
    config = http_config(settings, signing_key(settings))
    readiness: list[ReadinessCheck] = []
    idempotency: IdempotencyStore
    if settings.database_url is not None:
        engine = components.engine
        idempotency = SqlIdempotencyStore(engine)

        async def database() -> None:
            await database_answers(engine)

        readiness.append(ReadinessCheck("database", database))

        async def learn_locations() -> None:
            await _learn_sole_locations(engine)

        on_start_database: list[Callable[[], Awaitable[None]]] = [learn_locations]
    else:
        idempotency = MemoryIdempotencyStore()
    store_factory = None
    if settings.redis_url is not None:
        # Rate-limit counters shared by every API process, so N processes allow the limit
        # once, not N times. The same client serves the catalog cache.
        redis = components.redis
        # Litestar types its store's client as `Redis`; a cluster client serves it as well,
        # since what the limiter sends (one counting script, `SharedCounts`) names one key.
        store_redis = cast("Redis", redis)
        store_factory = RedisStore(store_redis, namespace=settings.redis_namespace).with_namespace

        async def redis_ping() -> None:
            await redis.ping()

        readiness.append(ReadinessCheck("redis", redis_ping, required=False))
    feed = components.stock_feed
    on_startup: list[Callable[[], Awaitable[None]]] = [feed.start]
    if settings.database_url is not None:
        on_startup += on_start_database
    on_shutdown: list[Callable[[], Awaitable[None]]] = [feed.stop]
    if settings.events_in_process:
        # No worker without Redis: each API process finishes what a crash left half-done.
        recovery = Periodic(
            settings.recovery_interval_seconds, lambda: recover_orders(components.shop)
        )
        on_startup.append(recovery.start)
        on_shutdown.insert(0, recovery.stop)
    tokens = TokenService(
        config.jwt_secret,
        issuer=config.jwt_issuer,
        audience=config.jwt_audience,
        ttl_seconds=config.access_token_seconds,
        revocations=revocations(components, on_startup, on_shutdown),
    )

    async def end_login(event: SessionEnded | RefreshTokenReused, _: object) -> None:
        await tokens.end_login(event.family_id)

    async def end_logins(event: PasswordChanged, _: object) -> None:
        for family_id in event.family_ids:
            await tokens.end_login(family_id)

    # This process's logouts, leaked refresh tokens and password changes, as its own commands
    # commit them; the revocation list tells the other processes.
    components.shop.bus.subscribe(SessionEnded, end_login)
    components.shop.bus.subscribe(RefreshTokenReused, end_login)
    components.shop.bus.subscribe(PasswordChanged, end_logins)
    services = ApiServices(
        shop=components.shop,
        tokens=tokens,
        idempotency=idempotency,
        config=config,
        readiness=readiness,
        on_startup=on_startup,
        on_shutdown=[*on_shutdown, components.aclose],
        store_factory=store_factory,
        catalog_reads=components.catalog_cache,
        stock_feed=feed,
        before_metrics=backlog_gauges(components),
        outermost=traced_asgi(tracer_provider) if tracer_provider is not None else None,
    )
    if tracer_provider is not None and settings.database_url is not None:
        instrument_stores(
            tracer_provider, [components.engine], redis=settings.redis_url is not None
        )
    return create_app(services)


async def database_answers(engine: AsyncEngine) -> None:
    """Readiness: the database answers, at the schema this code needs (a process started before
    `shopcore db upgrade` would answer every route 503). A pooled connection the server dropped
    fails the first try and takes the pool's older connections with it; the second asks on a
    fresh one, so a dropped connection does not take a healthy process out of rotation."""
    for attempt in range(2):
        try:
            async with translated(), engine.connect() as connection:
                await schema_revision.require_current(connection)
            return
        except ConnectionLost:
            if attempt:
                raise


def revocations(
    components: Components,
    on_startup: list[Callable[[], Awaitable[None]]],
    on_shutdown: list[Callable[[], Awaitable[None]]],
) -> Revocations:
    """Ended logins: this process's own, and with Redis every process's
    (adapters/messaging/revocations.py)."""
    settings = components.settings
    if settings.redis_url is None:
        return LocalRevocations()
    shared = RedisRevocations(components.redis, namespace=settings.redis_namespace)
    on_startup.append(shared.start)
    on_shutdown.insert(0, shared.stop)
    return shared


def app_from_env() -> Litestar:
    """A factory for any ASGI server (`uvicorn --factory apps.api:app_from_env`): each worker
    process reads the same environment."""
    return build_app(Components(Settings.from_env()))
