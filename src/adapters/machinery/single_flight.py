"""Single flight: concurrent calls for one key share one run of the work.

A cache miss that a hundred requests hit at once must reach the database once, not a hundred
times. The first caller starts the work; the others await the same result (or exception).
Callers are shielded from one another: one that is cancelled (its client went away) does not
cancel the work the others wait for.

Used by the memory and Redis catalog caches; a future per key in flight is loop machinery, so
it lives with the adapters and not in the core.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        """How many keys have work in flight."""
        return len(self._running)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(work())
            self._running[key] = future
            future.add_done_callback(functools.partial(self._finished, key))
        return await asyncio.shield(future)

    def _finished(self, key: str, future: asyncio.Future[T]) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        if not future.cancelled():
            future.exception()  # retrieved: every waiter may have gone
