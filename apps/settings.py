"""Typed settings, read from the environment once, by the entry points (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec


class SettingsError(ValueError):
    pass


# The embedded default: an SQLite file in the working directory, created on first start.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///shopcore.db"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # None keeps everything in memory (tests, the library default); the environment's
    # default for the operational commands is DEFAULT_DATABASE_URL.
    database_url: str | None = None
    database_pool_size: int = 10
    database_pool_timeout_seconds: int = 30  # then a request answers 503 Busy (load shedding)
    currency: str = "EUR"
    shipping_rate: int = 495  # minor units
    free_shipping_from: int | None = 5000
    default_tax_rate: int = 0  # basis points, for countries without a configured rate
    reservation_ttl_seconds: int = 15 * 60
    # HTTP API. No signing key: `serve` makes a random one and warns (embedded demo only).
    jwt_secret: str | None = None
    jwt_issuer: str = "shopcore"
    jwt_audience: str = "shopcore-api"
    access_token_seconds: int = 15 * 60
    refresh_token_days: int = 30
    cors_origins: tuple[str, ...] = ()
    webhook_secret: str | None = None
    redis_url: str | None = None
    # Prefix of the API's own Redis keys (rate-limit counters), so shops can share a server.
    redis_namespace: str = "shopcore"
    rate_limit_per_minute: int = 600
    auth_rate_limit_per_minute: int = 10
    checkout_rate_limit_per_minute: int = 30
    # Messaging: with Redis and a SQL database, the outbox relay publishes events to a stream
    # and `shopcore worker` runs the event handlers (see `events_in_process`).
    events_stream: str = "shopcore:events"
    events_retention: int = 100_000  # entries the stream keeps once every group has them
    worker_concurrency: int = 8
    worker_claim_idle_ms: int = 60_000  # must exceed the longest a handler runs
    relay_poll_ms: int = 500  # the fallback: on PostgreSQL each commit wakes the relay
    expire_interval_seconds: int = 30
    # Catalog reads (product lists and details) are cached in Redis when workers deliver the
    # events, else in the API process's memory; changes drop them sooner.
    catalog_cache_seconds: int = 60  # longest a cached read is served; 0: no cache
    catalog_near_cache_seconds: int = 2  # with Redis: each API process keeps reads this long too
    stream_heartbeat_ms: int = 15_000  # a quiet live stock stream gets a heartbeat this often
    # Notifications: SMTP when a URL is set, else a JSON-lines file when a path is, else the log.
    smtp_url: str | None = None
    mail_from: str = "shop@localhost"
    mail_file: str | None = None

    @property
    def events_in_process(self) -> bool:
        """Event handlers run in the process that committed unless workers can get the events:
        that takes the outbox (a SQL database) and the stream (Redis)."""
        return self.redis_url is None or self.database_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, got {raw!r}") from None

        free = env.get("SHOPCORE_FREE_SHIPPING_FROM")
        database_url = env.get("SHOPCORE_DATABASE_URL") or DEFAULT_DATABASE_URL
        pool_size = integer("SHOPCORE_DATABASE_POOL_SIZE", defaults.database_pool_size)
        if pool_size < 1:
            raise SettingsError("SHOPCORE_DATABASE_POOL_SIZE must be at least 1")
        return cls(
            database_url=None if database_url == "memory" else database_url,
            database_pool_size=pool_size,
            database_pool_timeout_seconds=_positive(
                "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS",
                integer(
                    "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS", defaults.database_pool_timeout_seconds
                ),
            ),
            currency=env.get("SHOPCORE_CURRENCY", defaults.currency),
            shipping_rate=integer("SHOPCORE_SHIPPING_RATE", defaults.shipping_rate),
            free_shipping_from=None
            if free == "none"
            else integer("SHOPCORE_FREE_SHIPPING_FROM", defaults.free_shipping_from or 0),
            default_tax_rate=integer("SHOPCORE_DEFAULT_TAX_RATE", defaults.default_tax_rate),
            reservation_ttl_seconds=integer(
                "SHOPCORE_RESERVATION_TTL_SECONDS", defaults.reservation_ttl_seconds
            ),
            jwt_secret=_secret(env, "SHOPCORE_JWT_SECRET", minimum=32),
            jwt_issuer=env.get("SHOPCORE_JWT_ISSUER") or defaults.jwt_issuer,
            jwt_audience=env.get("SHOPCORE_JWT_AUDIENCE") or defaults.jwt_audience,
            access_token_seconds=integer(
                "SHOPCORE_ACCESS_TOKEN_SECONDS", defaults.access_token_seconds
            ),
            refresh_token_days=_positive(
                "SHOPCORE_REFRESH_TOKEN_DAYS",
                integer("SHOPCORE_REFRESH_TOKEN_DAYS", defaults.refresh_token_days),
            ),
            cors_origins=tuple(
                origin.strip()
                for origin in env.get("SHOPCORE_CORS_ORIGINS", "").split(",")
                if origin.strip()
            ),
            webhook_secret=_secret(env, "SHOPCORE_WEBHOOK_SECRET", minimum=16),
            redis_url=env.get("SHOPCORE_REDIS_URL") or None,
            redis_namespace=env.get("SHOPCORE_REDIS_NAMESPACE") or defaults.redis_namespace,
            rate_limit_per_minute=integer(
                "SHOPCORE_RATE_LIMIT_PER_MINUTE", defaults.rate_limit_per_minute
            ),
            auth_rate_limit_per_minute=integer(
                "SHOPCORE_AUTH_RATE_LIMIT_PER_MINUTE", defaults.auth_rate_limit_per_minute
            ),
            checkout_rate_limit_per_minute=integer(
                "SHOPCORE_CHECKOUT_RATE_LIMIT_PER_MINUTE", defaults.checkout_rate_limit_per_minute
            ),
            events_stream=env.get("SHOPCORE_EVENTS_STREAM") or defaults.events_stream,
            events_retention=_positive(
                "SHOPCORE_EVENTS_RETENTION",
                integer("SHOPCORE_EVENTS_RETENTION", defaults.events_retention),
            ),
            worker_concurrency=_positive(
                "SHOPCORE_WORKER_CONCURRENCY",
                integer("SHOPCORE_WORKER_CONCURRENCY", defaults.worker_concurrency),
            ),
            worker_claim_idle_ms=_positive(
                "SHOPCORE_WORKER_CLAIM_IDLE_MS",
                integer("SHOPCORE_WORKER_CLAIM_IDLE_MS", defaults.worker_claim_idle_ms),
            ),
            relay_poll_ms=_positive(
                "SHOPCORE_RELAY_POLL_MS", integer("SHOPCORE_RELAY_POLL_MS", defaults.relay_poll_ms)
            ),
            expire_interval_seconds=_positive(
                "SHOPCORE_EXPIRE_INTERVAL_SECONDS",
                integer("SHOPCORE_EXPIRE_INTERVAL_SECONDS", defaults.expire_interval_seconds),
            ),
            catalog_cache_seconds=_at_least_zero(
                "SHOPCORE_CATALOG_CACHE_SECONDS",
                integer("SHOPCORE_CATALOG_CACHE_SECONDS", defaults.catalog_cache_seconds),
            ),
            catalog_near_cache_seconds=_at_least_zero(
                "SHOPCORE_CATALOG_NEAR_CACHE_SECONDS",
                integer("SHOPCORE_CATALOG_NEAR_CACHE_SECONDS", defaults.catalog_near_cache_seconds),
            ),
            stream_heartbeat_ms=_positive(
                "SHOPCORE_STREAM_HEARTBEAT_MS",
                integer("SHOPCORE_STREAM_HEARTBEAT_MS", defaults.stream_heartbeat_ms),
            ),
            smtp_url=env.get("SHOPCORE_SMTP_URL") or None,
            mail_from=env.get("SHOPCORE_MAIL_FROM") or defaults.mail_from,
            mail_file=env.get("SHOPCORE_MAIL_FILE") or None,
        )


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise SettingsError(f"{name} must be at least 1")
    return value


def _at_least_zero(name: str, value: int) -> int:
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more")
    return value


def _secret(env: Mapping[str, str], name: str, *, minimum: int) -> str | None:
    value = env.get(name) or None
    if value is not None and len(value.encode()) < minimum:
        # Say how long it must be, never what it was.
        raise SettingsError(f"{name} must be at least {minimum} bytes long")
    return value
