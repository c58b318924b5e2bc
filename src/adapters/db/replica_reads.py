"""Catalog reads on read replicas, with the primary behind them.

`ReplicaReads` is a `Reads` (driver_reads.py) over the replicas' engines, taken in turn. A
replica that cannot answer (its connection lost or refused, its pool exhausted, the server
refusing to serve: `ConnectionLost`, `Busy`, `Unavailable`) is left out for `rest_seconds` and
the read runs on the primary instead: a stopped replica costs the storefront nothing but the
primary's load. Only reads that may be a little behind use it (the catalog's listings and
product pages); a customer's orders and carts, stock levels and everything in a checkout read
the primary, so each customer reads their own writes.

A cached catalog read (adapters/machinery/cached_reads.py) is dropped when the worker handles
the change's event, after the relay published it: a replica further behind than that could
have the entry cached again from its older rows, until the cache's TTL. Streaming replicas on
the same network replay in milliseconds, well inside the relay's delay; a replica that lags
for seconds should be taken out (its monitoring's job) or the cache's TTL shortened.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select

from adapters.db.driver_reads import Reads, Rows
from shopcore.shared.errors import Busy, ConnectionLost, Unavailable

logger = logging.getLogger("shopcore.db")

_REPLICA_DOWN = (ConnectionLost, Busy, Unavailable)


class ReplicaReads:
    def __init__(
        self,
        replicas: Sequence[Reads],
        primary: Reads,
        *,
        rest_seconds: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if not replicas:
            raise ValueError("ReplicaReads needs at least one replica")
        self._replicas = list(replicas)
        self._turns = itertools.cycle(range(len(self._replicas)))
        self._primary = primary
        self._rest_seconds = rest_seconds
        self._now = now
        self._down_until = [0.0] * len(self._replicas)

    async def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        now = self._now()
        for _ in range(len(self._replicas)):
            turn = next(self._turns)
            if self._down_until[turn] > now:
                continue
            try:
                return await self._replicas[turn].rows(statement, parameters)
            except _REPLICA_DOWN as error:
                self._down_until[turn] = now + self._rest_seconds
                logger.warning(
                    "read replica %d failed (%s): reading from the primary for %.0f s",
                    turn,
                    error.code,
                    self._rest_seconds,
                )
        return await self._primary.rows(statement, parameters)
