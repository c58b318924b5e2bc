"""The worker: event handlers, the outbox relay and the reservation sweeper in one process.

`shopcore worker` runs, until SIGTERM or SIGINT:
- one stream consumer per handler group (`--group`, default every group in
  `shopcore.subscriptions`), each with `--concurrency` entries in flight;
- the outbox relay (`--no-relay` to leave it to `shopcore relay` or to other workers; any
  number may run, one publishes at a time); on PostgreSQL with a listener that wakes it as
  soon as a commit writes outbox rows (`adapters.db.outbox_wakeup`), the poll as fallback;
- ExpireReservations every SHOPCORE_EXPIRE_INTERVAL_SECONDS (`--no-expire` to leave it out);
- RecoverOrders every SHOPCORE_RECOVERY_INTERVAL_SECONDS: checkouts, cancellations, shipments
  and refunds a crash left half-done are finished (`--no-recover` to leave it out);
- with SHOPCORE_WORKER_HTTP_PORT set, its own /health/live, /health/ready and /metrics
  (apps/worker_http.py), on a socket bound before anything else starts, answered until the
  rest has stopped.

On SIGTERM it stops reading, finishes the entries it has read (acknowledging each after its
handlers committed), finishes the relay batch in progress and exits 0. Run as many workers as
the load needs: consumers of one group share its entries, and a worker killed outright leaves
its entries pending for the others to reclaim.

A worker stays up while Redis or the database is away: each part retries with backoff, and a
part that fails outright is started again after a pause (`supervised`), so a Redis restart, a
routine event, needs no restart of the workers. When Redis comes back empty, the consumers
create their groups again and the relay publishes again what no group had acknowledged
(`adapters.machinery.outbox`). Only a configuration the worker cannot run with stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

from adapters.db.dead_letters import SqlDeadLetters
from adapters.db.outbox import SqlOutboxSource
from adapters.db.outbox_wakeup import OutboxWakeup
from adapters.machinery.outbox_relay import OutboxRelay
from adapters.messaging.consumer import ConsumerSettings, StreamConsumer
from adapters.messaging.streams import EventStreams, RedisStreamPublisher
from apps.components import Components
from apps.database import prepare
from apps.jobs import every, expire_reservations, recover_orders
from apps.settings import Settings
from apps.tracing import instrument_stores, provider_for, trace_continuer, traced_delivery
from shopcore.application.groups import GroupDelivery
from shopcore.bootstrap import Shop
from shopcore.shared.messages import Event

logger = logging.getLogger("shopcore.worker")


class WorkerError(RuntimeError):
    """The worker cannot run with this configuration."""


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    groups: tuple[str, ...] = ()  # empty: every handler group
    concurrency: int | None = None  # per group; None: settings.worker_concurrency
    relay: bool = True
    expire: bool = True
    recover: bool = True
    block_ms: int = 1_000
    shutdown_grace: float = 30.0


def streams_of(settings: Settings) -> EventStreams:
    return EventStreams.named(settings.events_stream)


def require_messaging(settings: Settings, command: str = "worker") -> tuple[str, str]:
    """The database and Redis URLs: events reach workers only through both."""
    if settings.database_url is None or settings.redis_url is None:
        raise WorkerError(
            f"`shopcore {command}` needs a SQL database (SHOPCORE_DATABASE_URL) and Redis "
            "(SHOPCORE_REDIS_URL); without Redis, event handlers run inside the API process"
        )
    return settings.database_url, settings.redis_url


def select_groups(shop: Shop, names: Sequence[str]) -> list[GroupDelivery]:
    unknown = sorted(set(names) - set(shop.groups))
    if unknown:
        known = ", ".join(sorted(shop.groups))
        raise WorkerError(f"unknown handler group {', '.join(unknown)} (known: {known})")
    return [shop.groups[name] for name in (names or sorted(shop.groups))]


def consumer_for(
    components: Components,
    group: GroupDelivery,
    options: WorkerOptions,
    tracer_provider: Any = None,
) -> StreamConsumer:
    settings = components.settings
    deliver: Callable[[Event], Awaitable[None]] = group.deliver
    continue_trace = None
    if tracer_provider is not None:
        deliver = traced_delivery(tracer_provider, group.name, deliver)
        continue_trace = trace_continuer()
    return StreamConsumer(
        components.streams_redis,
        streams_of(settings),
        ConsumerSettings(
            group=group.name,
            concurrency=options.concurrency or settings.worker_concurrency,
            block_ms=options.block_ms,
            claim_idle_ms=settings.worker_claim_idle_ms,
            shutdown_grace=options.shutdown_grace,
        ),
        deliver,
        handles={kind.__name__ for kind in group.event_types},
        dead_letters=SqlDeadLetters(components.engine),
        continue_trace=continue_trace,
    )


def relay_for(components: Components) -> OutboxRelay:
    settings = components.settings
    source = SqlOutboxSource(components.engine, components.clock.now)
    publisher = RedisStreamPublisher(
        components.streams_redis,
        streams_of(settings),
        # Every group, whichever this worker serves: each must see every entry.
        groups=sorted(components.shop.groups),
        retain=settings.events_retention,
    )
    return OutboxRelay(source, publisher, poll_interval=settings.relay_poll_ms / 1000)


Job = Callable[[], Coroutine[Any, Any, None]]


def relay_jobs(components: Components, relay: OutboxRelay, stop: asyncio.Event) -> list[Job]:
    """The relay, and on PostgreSQL the listener that wakes it when a commit wrote outbox rows
    (SQLite has no notifications, and a LISTEN needs a session of its own, which a transaction
    pooler does not keep: then the relay polls)."""
    settings = components.settings
    database_url, _ = require_messaging(settings)
    jobs: list[Job] = [lambda: relay.run(stop)]
    pooled = settings.database_transaction_pooler
    if make_url(database_url).get_backend_name() == "postgresql" and not pooled:
        wakeup = OutboxWakeup.for_url(database_url, relay.wake)
        jobs.append(lambda: wakeup.run(stop))
    return jobs


async def supervised(job: Job, stop: asyncio.Event, *, pause: float = 1.0) -> None:
    """Run `job` until `stop`; if it fails, log it and start it again after `pause` seconds
    (doubling up to 30 s while it keeps failing at once). Each part retries its own I/O, so this
    catches what slipped through: the worker stays up for its siblings' sake."""
    delay = pause
    while not stop.is_set():
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await job()
        except Exception:
            logger.exception("a worker part failed; starting it again in %.0f s", delay)
        else:
            return
        delay = pause if loop.time() - started > 60 else min(30.0, delay * 2)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await stop.wait()


def listening(settings: Settings) -> socket.socket | None:
    """The socket of the worker's HTTP endpoint, bound before anything starts; None: off."""
    if settings.worker_http_port is None:
        return None
    from apps.worker_http import bind

    return bind(settings.worker_http_host, settings.worker_http_port)


def endpoint(
    components: Components,
    consumers: Sequence[StreamConsumer],
    relay: OutboxRelay | None,
    sock: socket.socket | None,
) -> contextlib.AbstractAsyncContextManager[None]:
    """The worker's HTTP endpoint (apps/worker_http.py) while the block runs, if a port is set."""
    if sock is None:
        return contextlib.nullcontext()
    from apps.worker_http import endpoint as http_endpoint

    return http_endpoint(components, consumers, relay, sock)


async def run_worker(settings: Settings, options: WorkerOptions, stop: asyncio.Event) -> None:
    require_messaging(settings)
    await prepare(settings)
    sock = listening(settings)
    async with Components(settings) as components:
        shop = components.shop
        groups = select_groups(shop, options.groups)
        provider = None
        if settings.tracing:
            provider = provider_for("shopcore-worker")
            instrument_stores(provider, [components.engine], redis=True)
        consumers = [consumer_for(components, group, options, provider) for group in groups]
        jobs: list[Job] = [functools.partial(consumer.run, stop) for consumer in consumers]
        relay = relay_for(components) if options.relay else None
        if relay is not None:
            jobs.extend(relay_jobs(components, relay, stop))
        if options.expire:
            interval = settings.expire_interval_seconds
            jobs.append(lambda: every(interval, lambda: expire_reservations(shop), stop))
        if options.recover:
            recovery = settings.recovery_interval_seconds
            jobs.append(lambda: every(recovery, lambda: recover_orders(shop), stop))
        logger.info(
            "worker serving %s%s", ", ".join(g.name for g in groups), " and relay" * options.relay
        )
        async with endpoint(components, consumers, relay, sock):
            await run_supervised(jobs, stop)


async def run_relay(settings: Settings, stop: asyncio.Event) -> None:
    require_messaging(settings, "relay")
    await prepare(settings)
    sock = listening(settings)
    async with Components(settings) as components:
        relay = relay_for(components)
        async with endpoint(components, [], relay, sock):
            await run_supervised(relay_jobs(components, relay, stop), stop)


async def run_supervised(jobs: Sequence[Job], stop: asyncio.Event, *, pause: float = 1.0) -> None:
    """Every job at once, each `supervised`, until `stop`."""
    async with asyncio.TaskGroup() as tasks:
        for job in jobs:
            tasks.create_task(supervised(job, stop, pause=pause))


def until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `run(stop)` on a fresh event loop; SIGTERM and SIGINT set `stop`."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run(stop)

    asyncio.run(main())
