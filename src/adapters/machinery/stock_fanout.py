"""The fan-out every stock feed shares: updates offered to subscriptions, a bounded queue each.

A feed (`stock_feed.py`) decides which updates exist and where they come from; `StockFanOut`
hands each one to the subscriptions that follow its SKU. Each subscription has a bounded queue.
A subscriber that falls that far behind (a slow client) is dropped: once it has taken what its
queue holds, `next()` raises SubscriptionEnded, its stream ends, and the client reconnects with
its last position and resumes. The fan-out never waits for a subscriber, so one slow browser
cannot hold up the updates of a thousand others.

This is loop machinery (futures, timers, queues), not a rule of the shop: it lives with the
adapters that run it, and the core never sees it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

import msgspec


class StockUpdate(msgspec.Struct, frozen=True, kw_only=True):
    position: str  # where in the feed this update is; resume after it
    sku: str
    available: int
    at: datetime  # when the change was made


class SubscriptionEnded(Exception):
    """The subscription fell too far behind, or the feed is shutting down: end the stream;
    the client reconnects and resumes from its last position."""


class StockSubscription:
    """Updates of some SKUs, in feed order: first the replayed backlog, then live ones.

    A publish wakes every subscription of its SKU at once, so waiting is kept cheap: a waiter
    future, and one timer per subscription for the heartbeat, armed once per quiet period and
    not per update (a timer per wait, as `asyncio.timeout` or `wait_for` set, costs more than
    the rest of a delivery when hundreds of subscribers wake together)."""

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
        self._capacity = capacity
        self._queue: deque[StockUpdate] = deque()
        self._ended = False
        self._release = release
        self._waiter: asyncio.Future[None] | None = None
        self._quiet_until: float | None = None  # when a waiting `next()` returns None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def ended(self) -> bool:
        return self._ended

    def offer(self, update: StockUpdate) -> bool:
        """Queue an update; False when the queue is full (the subscriber is too slow)."""
        if len(self._queue) >= self._capacity:
            return False
        self._queue.append(update)
        self._wake()
        return True

    def end(self) -> None:
        """No more updates will come: `next()` raises once the queue is drained."""
        self._ended = True
        self._wake()

    async def next(self, within: float) -> StockUpdate | None:
        """The next update, or None when none came `within` that many seconds (time for a
        heartbeat). Raises SubscriptionEnded once the feed ended it and it is drained."""
        if self._backlog:
            return self._backlog.popleft()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self._queue:
            if self._ended:
                raise SubscriptionEnded("the stock feed ended this subscription")
            if loop.time() >= deadline:
                return None
            self._quiet_until = deadline
            if self._timer is None or self._timer.when() > deadline:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = loop.call_at(deadline, self._on_timer)
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def close(self) -> None:
        """The subscriber is gone (idempotent): the fan-out forgets it."""
        self._ended = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        release, self._release = self._release, None
        if release is not None:
            release(self)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _on_timer(self) -> None:
        """A timer armed for an earlier quiet period may fire while a later one still runs:
        it is then armed again for the later deadline instead of waking the subscriber."""
        self._timer = None
        if self._waiter is None or self._quiet_until is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() >= self._quiet_until:
            self._wake()
        else:
            self._timer = loop.call_at(self._quiet_until, self._on_timer)


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
        subscribers = self._by_sku.get(update.sku)
        if not subscribers:
            return
        behind = [subscription for subscription in subscribers if not subscription.offer(update)]
        for subscription in behind:  # forgotten after the loop: it changes `subscribers`
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
