"""Live stock for storefronts: the StockFeed port, and the fan-out its adapters share.

A feed delivers a `StockUpdate` (a SKU's units available after a change) to every subscription
that follows that SKU. Each update carries its `position` in the feed, an opaque string: a
client hands the last one it saw back as `after` (an SSE client's `Last-Event-ID`), and the feed
replays what came since while it still holds it. When it cannot (the position is older than
what the feed keeps, or from another process or stream) the subscription says `resumed=False`
and the caller sends a fresh snapshot instead.

Two adapters, chosen with the event delivery (`Settings.events_in_process`):
- in process (`adapters.memory.stock_feed`): a bus subscriber on StockChanged feeds it, and a
  bounded ring buffer of recent updates serves resumes; it sees the changes of its own process;
- Redis (`adapters.messaging.stock_feed`): one reader per process follows the event stream, so
  every API process sees every change, whichever process committed it.

Each subscription has a bounded queue. A subscriber that falls that far behind (a slow client)
is dropped: once it has taken what its queue holds, `next()` raises SubscriptionEnded, its
stream ends, and the client reconnects with its last position and resumes. The feed never
waits for a subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Protocol

import msgspec

MAX_SKUS = 50  # per subscription


class StockUpdate(msgspec.Struct, frozen=True, kw_only=True):
    position: str  # where in the feed this update is; resume after it
    sku: str
    available: int
    at: datetime  # when the change was made


class SubscriptionEnded(Exception):
    """The subscription fell too far behind, or the feed is shutting down: end the stream;
    the client reconnects and resumes from its last position."""


class StockSubscription:
    """Updates of some SKUs, in feed order: first the replayed backlog, then live ones."""

    def __init__(
        self,
        skus: Collection[str],
        *,
        position: str,
        resumed: bool,
        capacity: int,
        backlog: Iterable[StockUpdate] = (),
        release: Callable[[StockSubscription], None] | None = None,
    ) -> None:
        self.skus = frozenset(skus)
        self.position = position  # the feed's position when it opened: a snapshot's id
        self.resumed = resumed  # True: every change after the asked-for position follows
        self._backlog = deque(backlog)
        self._queue: asyncio.Queue[StockUpdate] = asyncio.Queue(capacity)
        self._ended = False
        self._release = release

    @property
    def ended(self) -> bool:
        return self._ended

    def offer(self, update: StockUpdate) -> bool:
        """Queue an update; False when the queue is full (the subscriber is too slow)."""
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        """No more updates will come: `next()` raises once the queue is drained."""
        self._ended = True
        # Wake a reader blocked on an empty queue; it sees `ended` and stops.
        if self._queue.empty():
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_WAKE)

    async def next(self, within: float) -> StockUpdate | None:
        """The next update, or None when none came `within` that many seconds (time for a
        heartbeat). Raises SubscriptionEnded once the feed ended it and it is drained."""
        if self._backlog:
            return self._backlog.popleft()
        if self._ended and self._queue.empty():
            raise SubscriptionEnded("the stock feed ended this subscription")
        try:
            update = await asyncio.wait_for(self._queue.get(), within)
        except TimeoutError:
            return None
        if update is _WAKE:
            raise SubscriptionEnded("the stock feed ended this subscription")
        return update

    def close(self) -> None:
        """The subscriber is gone (idempotent): the fan-out forgets it."""
        self._ended = True
        release, self._release = self._release, None
        if release is not None:
            release(self)


_WAKE = StockUpdate(position="", sku="", available=0, at=datetime.min)


class StockFanOut:
    """Subscriptions by SKU; `publish` offers an update to each one that follows its SKU."""

    def __init__(self, capacity: int = 1_000) -> None:
        if capacity < 1:
            raise ValueError("a subscription needs room for at least one update")
        self._capacity = capacity
        self._by_sku: dict[str, set[StockSubscription]] = {}
        self.dropped = 0  # subscriptions ended for falling behind

    def open(
        self,
        skus: Collection[str],
        *,
        position: str,
        resumed: bool,
        backlog: Iterable[StockUpdate] = (),
    ) -> StockSubscription:
        subscription = StockSubscription(
            skus,
            position=position,
            resumed=resumed,
            capacity=self._capacity,
            backlog=backlog,
            release=self._forget,
        )
        for sku in subscription.skus:
            self._by_sku.setdefault(sku, set()).add(subscription)
        return subscription

    def publish(self, update: StockUpdate) -> None:
        for subscription in list(self._by_sku.get(update.sku, ())):
            if not subscription.offer(update):
                self.dropped += 1
                subscription.end()
                self._forget(subscription)

    def end_all(self) -> None:
        """Shutting down: every subscription ends once drained."""
        for subscription in {s for subscribers in self._by_sku.values() for s in subscribers}:
            subscription.end()
        self._by_sku.clear()

    @property
    def subscriptions(self) -> int:
        return len({s for subscribers in self._by_sku.values() for s in subscribers})

    def _forget(self, subscription: StockSubscription) -> None:
        for sku in subscription.skus:
            subscribers = self._by_sku.get(sku)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_sku[sku]


class StockFeed(Protocol):
    async def subscribe(self, skus: Collection[str], after: str | None) -> StockSubscription:
        """Follow `skus` from now on, or from just after position `after` when the feed still
        holds what came since (then `resumed` is True). Close the subscription when done.
        Raises Busy when the feed cannot serve right now (its Redis is unreachable)."""
        ...
