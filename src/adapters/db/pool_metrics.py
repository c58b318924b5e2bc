"""How long a request waits for a database connection, for Prometheus.

Every statement gets its connection from SQLAlchemy's pool, those sent to asyncpg itself
(driver_statements.py, driver_reads.py) included: they run on the driver's connection under a
pooled SQLAlchemy one. So one measurement point covers both paths: `Pool.connect`, which every
`engine.connect()` and `engine.begin()` goes through. It measures the wait for a free connection
(up to SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS, then `Busy`) and, when the pool grows, the opening
of a new one: both are time a request spends before its first statement. Only the relay's
wake-up listener holds a connection outside the pool (outbox_wakeup.py); it serves no request.

The pool class is made per label (`timed_pool`) rather than given the label as an argument,
because SQLAlchemy builds a new pool of the same class, with its own arguments only, whenever
the engine is disposed (`QueuePool.recreate`). The gauges are read at each scrape from the
newest pool of each label: no cost per checkout beyond one clock read each side.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection

POOL_WAIT = Histogram(
    "shopcore_db_pool_wait_seconds",
    "Time to get a connection from the database pool (waiting for a free one, or opening one "
    "as the pool grows), by pool (`primary`, `replica-N`)",
    ["pool"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# The newest pool of each label: what the gauges read.
_pools: dict[str, weakref.ReferenceType[AsyncAdaptedQueuePool]] = {}


class TimedQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool, with each checkout's wait observed."""

    label: ClassVar[str] = "primary"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _pools[self.label] = weakref.ref(self)
        self._observe = POOL_WAIT.labels(self.label).observe

    def connect(self) -> PoolProxiedConnection:
        started = time.perf_counter()
        try:
            return super().connect()
        finally:  # a checkout that timed out (Busy) waited too
            self._observe(time.perf_counter() - started)


@functools.cache
def timed_pool(label: str) -> type[TimedQueuePool]:
    """The pool class of the pools labelled `label`."""
    # SQLAlchemy names a pool's logger after its class's module: in its own, the pool's
    # messages stay under the `sqlalchemy` logger, quiet unless asked for (echo_pool), as
    # those of the pool this one extends.
    namespace = {"label": label, "__module__": AsyncAdaptedQueuePool.__module__}
    return type(f"TimedQueuePool[{label}]", (TimedQueuePool,), namespace)


class _PoolGauges(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "shopcore_db_pool_in_use",
            "Connections of the database pool handed out now, by pool",
            labels=["pool"],
        )
        opened = GaugeMetricFamily(
            "shopcore_db_pool_open",
            "Connections the database pool holds open now (in use or idle), by pool",
            labels=["pool"],
        )
        limit = GaugeMetricFamily(
            "shopcore_db_pool_limit",
            "Most connections the database pool opens (twice SHOPCORE_DATABASE_POOL_SIZE), by pool",
            labels=["pool"],
        )
        for label, reference in list(_pools.items()):
            pool = reference()
            if pool is None:
                continue
            out = pool.checkedout()
            in_use.add_metric([label], out)
            opened.add_metric([label], out + pool.checkedin())
            limit.add_metric([label], pool.size())  # engine.py: no overflow, one fixed pool
        yield from (in_use, opened, limit)


REGISTRY.register(_PoolGauges())
