"""Typed settings, read from the environment once, by the entry points (never at import).

Each field is declared once, here: its type, the rules its value keeps and what it means,
in `Annotated[type, Meta(...)]`. `Settings.from_env` reads it from `SHOPCORE_` + its name in
upper case (`database_pool_size` <- `SHOPCORE_DATABASE_POOL_SIZE`) by the rules of
apps/environment.py, and docs/reference/settings.md is generated from the same declarations.
The rules hold for what the environment gives; `Settings(...)` in code is not checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import msgspec
from msgspec import Meta

from apps import environment
from apps.environment import SettingsError, Variable

__all__ = ["DEFAULT_DATABASE_URL", "PREFIX", "Settings", "SettingsError"]

PREFIX = "SHOPCORE_"

# The embedded default: an SQLite file in the working directory, created on first start.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///shopcore.db"
# The two drivers the shop runs on, both async (`postgres://` and plain `sqlite:///` are not).
DATABASE_URL_PATTERN = r"^(postgresql\+asyncpg://|sqlite\+aiosqlite:///).+"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: (
        Annotated[
            str,
            Meta(
                pattern=DATABASE_URL_PATTERN,
                description="SQLAlchemy URL of the database; None keeps everything in memory, "
                "as the library default `Settings()` does",
                extra={
                    "when_unset": DEFAULT_DATABASE_URL,
                    "none": "memory",
                    "expected": "a URL of the form postgresql+asyncpg://user:password@host:5432"
                    "/name or sqlite+aiosqlite:///path/to/shop.db (or `memory`)",
                },
            ),
        ]
        | None
    ) = None
    database_transaction_pooler: Annotated[
        bool,
        Meta(
            description="the database URLs point at a pooler in transaction mode (PgBouncer): "
            "no prepared statement is named or kept, reads run in short transactions, and the "
            "relay polls the outbox (a LISTEN needs a session of its own)"
        ),
    ] = False
    database_read_url: Annotated[
        tuple[Annotated[str, Meta(pattern=r"^postgresql\+asyncpg://.+")], ...],
        Meta(
            description="PostgreSQL read replicas (comma-separated URLs) for the catalog's "
            "listings and product pages, taken in turn; one that fails is left out for 5 s "
            "and the primary answers. Everything else reads the primary",
            extra={"expected": "comma-separated URLs of the form postgresql+asyncpg://..."},
        ),
    ] = ()
    database_pool_size: Annotated[
        int,
        Meta(
            ge=1,
            description="connections per process (and as many again under load, kept open "
            "once opened)",
        ),
    ] = 10
    database_pool_timeout_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="longest a request waits for a pooled connection; then it answers "
            "503 Busy (load shedding)",
        ),
    ] = 30
    currency: Annotated[
        str,
        Meta(
            pattern="^[A-Z]{3}$",
            description="the shop's currency (ISO 4217)",
            extra={"expected": "an ISO 4217 currency code in capitals, such as EUR or USD"},
        ),
    ] = "EUR"
    shipping_rate: Annotated[int, Meta(ge=0, description="flat shipping rate, minor units")] = 495
    free_shipping_from: (
        Annotated[
            int,
            Meta(
                ge=0,
                description="subtotal from which shipping is free; None: never",
                extra={"none": "none"},
            ),
        ]
        | None
    ) = 5000
    default_tax_rate: Annotated[
        int, Meta(ge=0, description="basis points, for countries without a configured rate")
    ] = 0
    reservation_ttl_seconds: Annotated[
        int, Meta(ge=1, description="how long checkout holds stock")
    ] = 15 * 60
    jwt_secret: (
        Annotated[
            str,
            Meta(
                min_length=32,
                description="HS256 signing key of access tokens; None: `serve` makes a random "
                "one per run and warns (embedded demo only)",
            ),
        ]
        | None
    ) = None
    jwt_issuer: Annotated[str, Meta(description="issuer of access tokens, checked on each")] = (
        "shopcore"
    )
    jwt_audience: Annotated[str, Meta(description="audience of access tokens, checked on each")] = (
        "shopcore-api"
    )
    access_token_seconds: Annotated[int, Meta(ge=1, description="access token lifetime")] = 15 * 60
    refresh_token_days: Annotated[
        int, Meta(ge=1, description="refresh token lifetime; each refresh issues a new one")
    ] = 30
    cors_origins: Annotated[tuple[str, ...], Meta(description="origins allowed by CORS")] = ()
    trusted_proxies: Annotated[
        tuple[Annotated[str, Meta(pattern=r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$")], ...],
        Meta(
            description="addresses or networks (CIDR) of the load balancers in front of the "
            "API: only their X-Forwarded-For and X-Forwarded-Proto are believed, so rate "
            "limits and the metrics' loopback rule see the real client; unset: the peer is the "
            "client",
            extra={
                "expected": "comma-separated IP addresses or networks, such as 10.0.0.0/8,127.0.0.1"
            },
        ),
    ] = ()
    webhook_secret: (
        Annotated[
            str,
            Meta(min_length=16, description="HMAC key of the payment gateway's webhooks"),
        ]
        | None
    ) = None
    metrics_token: (
        Annotated[
            str,
            Meta(
                min_length=16,
                description="bearer token a Prometheus scraper sends to GET /metrics; unset: "
                "only clients on the API's own host are answered",
            ),
        ]
        | None
    ) = None
    redis_url: Annotated[
        str | None,
        Meta(description="Redis for rate limits, the catalog cache and messaging"),
    ] = None
    redis_cluster: Annotated[
        bool,
        Meta(
            description="`SHOPCORE_REDIS_URL` names a node of a Redis Cluster: the client finds "
            "the others and follows failovers (every multi-key script keeps to one hash slot)"
        ),
    ] = False
    redis_namespace: Annotated[
        str,
        Meta(
            description="prefix of the API's own Redis keys (rate-limit counters), so shops "
            "can share a server"
        ),
    ] = "shopcore"
    rate_limit_per_minute: Annotated[
        int, Meta(ge=1, description="requests per client address and minute")
    ] = 600
    auth_rate_limit_per_minute: Annotated[
        int,
        Meta(
            ge=1,
            description="the same for `/v1/auth/token`, `/v1/auth/refresh` and registration, "
            "together",
        ),
    ] = 10
    checkout_rate_limit_per_minute: Annotated[
        int, Meta(ge=1, description="the same for `/v1/checkout`")
    ] = 30
    # Messaging: with Redis and a SQL database, the outbox relay publishes events to a stream
    # and `shopcore worker` runs the event handlers (see `events_in_process`).
    events_stream: Annotated[
        str,
        Meta(
            description="the event stream (`{<name>}:fed` and `{<name>}:confirmed` beside it, "
            "in its hash slot)"
        ),
    ] = "shopcore:events"
    events_retention: Annotated[
        int, Meta(ge=1, description="entries the stream keeps once every group has them")
    ] = 100_000
    # 16: with 8, one worker fell behind the API's checkout peak (the bench's item 5: a
    # checkout's 8 events then, 5 now; the catalog-cache group the slowest); 16 keeps the
    # notifications group's processed-event records within the worker's 20 pooled connections.
    worker_concurrency: Annotated[
        int, Meta(ge=1, description="events in flight per handler group and worker")
    ] = 16
    worker_claim_idle_ms: Annotated[
        int,
        Meta(
            ge=1,
            description="pending this long, an event is taken over by another worker: must "
            "exceed the longest a handler runs, waiting for a database connection included "
            "(`database_pool_timeout_seconds`)",
        ),
    ] = 60_000
    relay_poll_ms: Annotated[
        int,
        Meta(
            ge=1,
            description="how often an idle relay looks at the outbox; the fallback: on "
            "PostgreSQL each commit wakes the relay",
        ),
    ] = 500
    worker_http_port: (
        Annotated[
            int,
            Meta(
                ge=1,
                description="port of the worker's own HTTP endpoint (`/health/live`, "
                "`/health/ready`, `/metrics`); unset: none, as several workers on one host "
                "would take the same port",
            ),
        ]
        | None
    ) = None
    worker_http_host: Annotated[
        str,
        Meta(
            description="address the worker's HTTP endpoint listens on: this host only by "
            "default; `0.0.0.0` where probes and scrapers come from elsewhere (a Kubernetes pod)"
        ),
    ] = "127.0.0.1"
    expire_interval_seconds: Annotated[
        int, Meta(ge=1, description="how often a worker releases expired reservations")
    ] = 30
    # Crash safety: an order's work spanning several transactions has a deadline; past it, the
    # recovery job finishes the work from what is stored (src/shopcore/ordering/settling.py).
    settle_within_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="how long a checkout, cancellation, shipment or refund may take; "
            "after that the recovery job finishes it, forward or back",
        ),
    ] = 60
    gateway_timeout_seconds: Annotated[
        float,
        Meta(
            gt=0,
            description="longest a call to the payment gateway may take before it counts as "
            "failed; a checkout asks for no authorization later than its deadline less this, so "
            "it must be shorter than `settle_within_seconds`",
        ),
    ] = 20.0
    recovery_interval_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="how often a worker (without Redis: each API process) looks for "
            "overdue work",
        ),
    ] = 10
    # Catalog reads are cached in Redis when workers deliver the events, else in the API
    # process's memory.
    catalog_cache_seconds: Annotated[
        int,
        Meta(
            ge=0,
            description="longest a cached catalog read (product lists and details) is served, "
            "changes drop it sooner; 0: no cache",
        ),
    ] = 60
    catalog_near_cache_seconds: Annotated[
        int,
        Meta(ge=0, description="with Redis: each API process keeps reads this long too; 0: off"),
    ] = 2
    shutdown_grace_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="after SIGTERM, how long an API process may take to finish the "
            "requests in flight and its shutdown (open stock streams end at once, told to "
            "reconnect); then it is killed",
        ),
    ] = 30
    stream_heartbeat_ms: Annotated[
        int, Meta(ge=1, description="a quiet live stock stream gets a heartbeat this often")
    ] = 15_000
    stream_max_per_client: Annotated[
        int,
        Meta(
            ge=1,
            description="live stock streams one client address may hold open on one API "
            "process; past it 429",
        ),
    ] = 16
    stream_max_per_process: Annotated[
        int,
        Meta(
            ge=1,
            description="live stock streams one API process holds open; past it 503 (each "
            "holds a file descriptor)",
        ),
    ] = 1_000
    stream_max_seconds: Annotated[
        int,
        Meta(
            ge=1,
            description="a live stock stream ends after this long; its client reconnects "
            "with Last-Event-ID and misses nothing",
        ),
    ] = 3_600
    tracing: Annotated[
        bool,
        Meta(
            description="send OpenTelemetry traces of requests, their SQL and Redis calls, and "
            "the worker's events (needs the `tracing` extra); the exporter as the standard "
            "OTEL_EXPORTER_OTLP_* variables say"
        ),
    ] = False
    smtp_url: Annotated[
        str | None,
        Meta(
            description="SMTP server of the shop's emails: `smtp://user:pass@host:587` "
            "(`?starttls=required`) or `smtps://host:465`"
        ),
    ] = None
    mail_from: Annotated[str, Meta(description="sender of the shop's emails")] = "shop@localhost"
    mail_file: Annotated[
        str | None,
        Meta(
            description="without SMTP, emails are appended to this file as JSON lines; "
            "without either, they go to the log"
        ),
    ] = None

    @property
    def events_in_process(self) -> bool:
        """Event handlers run in the process that committed unless workers can get the events:
        that takes the outbox (a SQL database) and the stream (Redis)."""
        return self.redis_url is None or self.database_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every field from its variable; `SettingsError` names one whose value is refused."""
        settings = environment.read(cls, os.environ if environ is None else environ, PREFIX)
        if settings.gateway_timeout_seconds >= settings.settle_within_seconds:
            raise SettingsError(
                f"{PREFIX}GATEWAY_TIMEOUT_SECONDS ({settings.gateway_timeout_seconds:g}) must be "
                f"shorter than {PREFIX}SETTLE_WITHIN_SECONDS ({settings.settle_within_seconds}): "
                "a checkout asks the gateway only while that much of its time is left"
            )
        return settings

    @classmethod
    def variables(cls) -> tuple[Variable, ...]:
        """The fields in order, each with its variable, rules and description."""
        return environment.variables(cls, PREFIX)
