"""The worker's own HTTP endpoint, when SHOPCORE_WORKER_HTTP_PORT is set: probes and metrics.

- `GET /health/live`: the worker's event loop answers (the server runs on it, so a loop blocked
  by a runaway handler fails this too);
- `GET /health/ready`: the database answers at the schema this code needs, Redis answers, and
  the relay (when this worker runs one) began a pass in the last `RELAY_STALLED_AFTER` seconds,
  failed passes included: a relay that retries an outage with backoff is turning; one stuck
  inside a pass is not. The answer is the API's (`HealthController`): 503 naming what fails;
- `GET /metrics`: the process's metrics (the gateway's latency, the pool's wait, the process
  collector's), this worker's counters (`WorkerMetrics`) and the backlog gauges read from the
  database and Redis at each scrape, as the API's /metrics reads them. Guarded as the API's
  is: SHOPCORE_METRICS_TOKEN as a bearer token, or with none set a client on this host.

Off by default: several workers on one host (the tests, a developer's machine, `shopcore
relay` beside a worker) would take the same port. It listens on SHOPCORE_WORKER_HTTP_HOST,
this host unless told otherwise: in a Kubernetes pod the kubelet probes the pod's address, so
the manifests set `0.0.0.0`. Served by uvicorn (the API's proxy-headers layer already brings it)
on the worker's own event loop: no thread. The port is bound before the worker starts, so a
port in use stops the start with one line instead of a worker without its probes, and it is
served around the worker's parts, so it still answers while they drain after SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import uvicorn
from litestar import Litestar, Response, get
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.http.controllers.health import HealthController
from adapters.http.controllers.metrics import require_scraper
from adapters.http.services import ReadinessCheck
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.consumer import StreamConsumer
from apps.api import database_answers
from apps.backlogs import backlog_gauges
from apps.components import Components
from apps.database import NotReady

logger = logging.getLogger("shopcore.worker")

# A pass waits at most a statement's or a connection's timeouts (the pool's 30 s, asyncpg's
# 60 s to connect), and the relay pauses at most its poll interval or its 5 s backoff between
# passes: two minutes without a new pass is a relay stuck, not a slow one.
RELAY_STALLED_AFTER = 120.0


class RelayStalled(RuntimeError):
    """The relay has begun no pass for longer than a pass can take."""


def relay_turning(
    relay: OutboxRelay, stalled_after: float = RELAY_STALLED_AFTER
) -> Callable[[], Awaitable[None]]:
    """A readiness check: the relay began a pass in the last `stalled_after` seconds."""

    async def check() -> None:
        last = relay.last_turn
        if last is None:  # not started yet
            return
        age = time.monotonic() - last
        if age > stalled_after:
            raise RelayStalled(f"the relay has begun no pass for {age:.1f} s")

    return check


def readiness(components: Components, relay: OutboxRelay | None) -> list[ReadinessCheck]:
    """The database and Redis answer (a worker does nothing without either), the relay turns."""
    engine, redis = components.engine, components.streams_redis

    async def database() -> None:
        await database_answers(engine)

    async def redis_answers() -> None:
        await redis.ping()

    checks = [ReadinessCheck("database", database), ReadinessCheck("redis", redis_answers)]
    if relay is not None:
        checks.append(ReadinessCheck("relay", relay_turning(relay)))
    return checks


class WorkerMetrics(Collector):
    """This worker's counters since it started, read from its consumers and relay at each
    scrape (they count in plain integers: no metrics library below the composition root)."""

    def __init__(self, consumers: Sequence[StreamConsumer], relay: OutboxRelay | None) -> None:
        self._consumers = consumers
        self._relay = relay

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        handled = CounterMetricFamily(
            "shopcore_events_handled",
            "Events this worker's handlers finished (committed), by consumer group",
            labels=["group"],
        )
        failed = CounterMetricFamily(
            "shopcore_event_deliveries_failed",
            "Deliveries whose handler raised, by consumer group: retried after "
            "SHOPCORE_WORKER_CLAIM_IDLE_MS, dead-lettered at the fifth",
            labels=["group"],
        )
        dead = CounterMetricFamily(
            "shopcore_events_dead_lettered",
            "Events this worker gave up on, by consumer group (shopcore_dead_letters: all kept)",
            labels=["group"],
        )
        for consumer in self._consumers:
            handled.add_metric([consumer.group], consumer.handled)
            failed.add_metric([consumer.group], consumer.failed)
            dead.add_metric([consumer.group], consumer.dead_lettered)
        yield from (handled, failed, dead)
        if self._relay is None:
            return
        yield CounterMetricFamily(
            "shopcore_events_relayed",
            "Events this worker's relay appended to the stream",
            value=self._relay.published,
        )
        last = self._relay.last_turn
        if last is not None:
            yield GaugeMetricFamily(
                "shopcore_relay_seconds_since_pass",
                "Seconds since this worker's relay began its last pass (stuck past 120)",
                value=time.monotonic() - last,
            )


def worker_app(
    checks: Sequence[ReadinessCheck],
    own: CollectorRegistry,
    refreshers: Sequence[Callable[[], Awaitable[None]]],
    metrics_token: str,
) -> Litestar:
    """The three routes over `checks`, the process's registry, `own` (this worker's
    collectors) and the backlog `refreshers` run before each scrape."""

    def scraper(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        require_scraper(connection, metrics_token)

    @get("/metrics", guards=[scraper], media_type=CONTENT_TYPE_LATEST)
    async def metrics() -> Response[bytes]:
        for refresh in refreshers:
            try:
                await refresh()
            except Exception:  # a backlog that cannot be read keeps its last value
                logger.warning("a metrics refresh failed", exc_info=True)
        # Two registries in one answer: the text format allows any number of families.
        return Response(generate_latest(REGISTRY) + generate_latest(own))

    return Litestar(
        route_handlers=[HealthController, metrics],
        dependencies={"readiness": Provide(lambda: checks, sync_to_thread=False)},
        openapi_config=None,
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, before the worker starts anything: a port in use is a start that
    fails, named, not a worker running without its probes."""
    try:
        return socket.create_server((host, port), reuse_port=False)
    except (OSError, OverflowError) as error:
        raise NotReady(
            f"the worker's HTTP endpoint cannot listen on {host}:{port}: {error}"
        ) from None


class _EmbeddedServer(uvicorn.Server):
    """uvicorn on the worker's loop. The worker owns SIGTERM and SIGINT (they set its `stop`),
    so this server leaves the process's signal handlers alone and stops when told."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Litestar, listening: socket.socket) -> AsyncIterator[None]:
    """`app` served on `listening` for as long as the block runs: around the worker's parts,
    so the probes and the last scrape are answered while it drains its events on SIGTERM."""
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_config=None, proxy_headers=False
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield
    finally:
        server.should_exit = True
        await task


def endpoint(
    components: Components,
    consumers: Sequence[StreamConsumer],
    relay: OutboxRelay | None,
    listening: socket.socket,
) -> contextlib.AbstractAsyncContextManager[None]:
    """The worker's endpoint over its parts, served while the block runs."""
    own = CollectorRegistry(auto_describe=True)
    own.register(WorkerMetrics(consumers, relay))
    app = worker_app(
        readiness(components, relay),
        own,
        backlog_gauges(components),
        components.settings.metrics_token or "",
    )
    return serving(app, listening)
