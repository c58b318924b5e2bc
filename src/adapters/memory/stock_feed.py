"""The stock feed of one process (the embedded default, without Redis).

The bus of the API process calls `on_stock_changed` after each commit that changed stock
(subscribed by the composition root), so the feed sees the changes this process makes, and no
other's. Positions are `<run>:<sequence>`: the sequence counts this feed's updates, and the run
token (new per process start) makes a position from an earlier run unresumable instead of
wrong. The last `retain` updates are kept for resumes.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from collections.abc import Collection

from adapters.machinery.stock_fanout import StockFanOut, StockSubscription, StockUpdate
from shopcore.inventory.events import StockChanged
from shopcore.shared.clock import Clock

_POSITION = re.compile(r"^([0-9a-f]{8}):([0-9]{1,18})$")


class InProcessStockFeed:
    def __init__(self, clock: Clock, *, retain: int = 10_000, capacity: int = 1_000) -> None:
        self._clock = clock
        self._run = secrets.token_hex(4)
        self._sequence = 0
        self._recent: deque[StockUpdate] = deque(maxlen=retain)
        self._fan_out = StockFanOut(capacity)

    @property
    def fan_out(self) -> StockFanOut:
        return self._fan_out

    @property
    def position(self) -> str:
        return f"{self._run}:{self._sequence}"

    async def on_stock_changed(self, event: StockChanged, uow: object = None) -> None:
        """The bus subscriber: every StockChanged committed in this process."""
        self._sequence += 1
        update = StockUpdate(
            position=self.position,
            sku=event.sku,
            available=event.available,
            at=event.at or self._clock.now(),
        )
        self._recent.append(update)
        self._fan_out.publish(update)

    async def subscribe(self, skus: Collection[str], after: str | None) -> StockSubscription:
        # Nothing here awaits: the replay and the registration see the same moment.
        wanted = frozenset(skus)
        replay = None if after is None else self._since(after)
        if replay is None:
            return self._fan_out.open(wanted, position=self.position, resumed=False)
        return self._fan_out.open(
            wanted,
            position=self.position,
            resumed=True,
            backlog=[update for update in replay if update.sku in wanted],
        )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        """Shutting down: open streams end (their clients reconnect elsewhere)."""
        self._fan_out.end_all()

    def _since(self, after: str) -> list[StockUpdate] | None:
        """The updates after `after`, or None when that position is not resumable."""
        match = _POSITION.fullmatch(after)
        if match is None or match.group(1) != self._run:
            return None
        seen = int(match.group(2))
        if seen > self._sequence:
            return None
        oldest = self._sequence - len(self._recent) + 1  # sequence of _recent[0]
        if seen + 1 < oldest:
            return None  # what came right after it has been dropped already
        return list(self._recent)[seen + 1 - oldest :]
