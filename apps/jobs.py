"""The shop's periodic jobs, run by `shopcore worker` and, without Redis (no worker then),
by each API process: releasing expired reservations, and finishing work that a crash or a
fault left half-done (`RecoverOrders`).

Every job is safe to run in any number of processes at once: each step it takes is keyed and
version-checked, so two processes finishing the same order do it once between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shopcore.bootstrap import Shop
from shopcore.inventory.commands import ExpireReservations
from shopcore.ordering.commands import RecoverOrders

logger = logging.getLogger("shopcore.jobs")


async def every(seconds: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event) -> None:
    """Run `job` now and then every `seconds` until `stop`; a failure is logged, not fatal."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            logger.exception("periodic job failed; trying again in %.0f s", seconds)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()


async def expire_reservations(shop: Shop) -> None:
    limit = ExpireReservations().limit
    # A full batch means more have lapsed: sweep on until a batch comes back short.
    while await shop.handle(ExpireReservations(limit=limit)) >= limit:
        pass


async def recover_orders(shop: Shop) -> None:
    limit = RecoverOrders().limit
    # A full batch means more are overdue: go on until a batch comes back short.
    while await shop.handle(RecoverOrders(limit=limit)) >= limit:
        pass


class Periodic:
    """A job run every so often in the background of a process with a lifespan of its own
    (the API): `start` at start-up, `stop` at shutdown (it waits for the run in progress)."""

    def __init__(self, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        self._seconds = seconds
        self._job = job
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(every(self._seconds, self._job, self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
