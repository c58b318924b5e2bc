"""What the composition root hands to `create_app`: every collaborator, finished."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from litestar.stores.base import Store

from adapters.http.config import HttpConfig
from adapters.http.security import TokenService
from adapters.http.stream_slots import StreamSlots
from adapters.machinery.cached_reads import CatalogReads, UncachedReads
from adapters.machinery.stock_feed import StockFeed
from shopcore.application.idempotency import IdempotencyStore
from shopcore.bootstrap import Shop


class ReadinessCheck(NamedTuple):
    """A named check that raises when a dependency does not answer (GET /health/ready runs
    them all). Only a `required` one failing makes the process unready: one the process rides
    out (Redis) makes it `degraded`, still in service, since taking every instance out of a
    load balancer at once for it would turn a slower shop into no shop."""

    name: str
    check: Callable[[], Awaitable[None]]
    required: bool = True


@dataclass(frozen=True, kw_only=True)
class ApiServices:
    shop: Shop
    tokens: TokenService
    idempotency: IdempotencyStore
    config: HttpConfig
    readiness: Sequence[ReadinessCheck] = ()
    # Run before each scrape of /metrics: they set the gauges read from elsewhere (backlogs).
    before_metrics: Sequence[Callable[[], Awaitable[None]]] = ()
    # Wraps the whole app, outside everything but the trusted proxies' layer (tracing).
    outermost: Callable[[Any], Any] | None = None
    # Litestar store factory per name (rate limits); in memory unless Redis is configured.
    store_factory: Callable[[str], Store] | None = None
    on_startup: Sequence[Callable[[], Awaitable[None]]] = ()
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()
    extra_controllers: Sequence[Any] = field(default_factory=tuple)
    # Product lists and details: the same cache object the core's Ports invalidates.
    catalog_reads: CatalogReads = field(default_factory=UncachedReads)
    # Live stock for GET /v1/inventory/stream; None: that endpoint answers 503.
    stock_feed: StockFeed | None = None
    # The open streams of this process, bounded as the config says.
    stream_slots: StreamSlots = field(init=False)

    def __post_init__(self) -> None:
        slots = StreamSlots(
            per_client=self.config.stream_max_per_client,
            per_process=self.config.stream_max_per_process,
        )
        object.__setattr__(self, "stream_slots", slots)
