"""How far the shop is behind, for Prometheus: gauges read from the database and Redis just
before each scrape, by the API's /metrics and the worker's alike, so every process reports the
same backlog (the alert rules take `max` of them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.db.backlogs import overdue_orders
from adapters.db.dead_letters import SqlDeadLetters
from adapters.db.outbox import SqlOutboxSource
from adapters.http import shop_metrics
from apps.components import Components


def backlog_gauges(components: Components) -> list[Callable[[], Awaitable[None]]]:
    """How far the shop is behind, read just before each scrape: with a SQL database the
    events the relay has yet to publish, the dead letters and the overdue orders; once workers
    take the events from Redis, each consumer group's lag and pending entries."""
    settings = components.settings
    refreshers: list[Callable[[], Awaitable[None]]] = []
    if settings.database_url is None:
        return refreshers
    source = SqlOutboxSource(components.engine, components.clock.now)

    letters, engine, clock = SqlDeadLetters(components.engine), components.engine, components.clock

    async def outbox() -> None:
        shop_metrics.OUTBOX_UNPUBLISHED.set(await source.unpublished_count())
        shop_metrics.DEAD_LETTERS.set(await letters.count())
        shop_metrics.ORDERS_OVERDUE.set(await overdue_orders(engine, clock.now()))

    refreshers.append(outbox)
    if settings.events_in_process:
        return refreshers
    redis, stream = components.streams_redis, settings.events_stream

    async def groups() -> None:
        for group in await redis.xinfo_groups(stream):
            name = str(group["name"])
            # `lag` is None when Redis cannot tell (entries deleted past the group's position).
            shop_metrics.GROUP_LAG.labels(name).set(int(group.get("lag") or 0))
            shop_metrics.GROUP_PENDING.labels(name).set(int(group["pending"]))

    refreshers.append(groups)
    return refreshers
