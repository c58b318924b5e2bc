"""Live stock for storefronts: the StockFeed port that the HTTP stream endpoint reads.

A feed delivers a `StockUpdate` (a SKU's units available after a change) to every subscription
that follows that SKU. Each update carries its `position` in the feed, an opaque string: a
client hands the last one it saw back as `after` (an SSE client's `Last-Event-ID`), and the feed
replays what came since while it still holds it. When it cannot (the position is older than
what the feed keeps, or from another process or stream) the subscription says `resumed=False`
and the caller sends a fresh snapshot instead.

Two adapters, chosen with the event delivery (`Settings.events_in_process`), both built on the
fan-out of `stock_fanout.py`:
- in process (`adapters.memory.stock_feed`): a bus subscriber on StockChanged feeds it, and a
  bounded ring buffer of recent updates serves resumes; it sees the changes of its own process;
- Redis (`adapters.messaging.stock_feed`): one reader per process follows the event stream, so
  every API process sees every change, whichever process committed it.

The port lives here, not in the core: the core publishes StockChanged and never reads the
feed; only the HTTP adapter does, and it must not import the memory or messaging families.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from adapters.machinery.stock_fanout import StockSubscription

MAX_SKUS = 50  # per subscription


class StockFeed(Protocol):
    async def subscribe(self, skus: Collection[str], after: str | None) -> StockSubscription:
        """Follow `skus` from now on, or from just after position `after` when the feed still
        holds what came since (then `resumed` is True). Close the subscription when done.
        Raises Busy when the feed cannot serve right now (its Redis is unreachable)."""
        ...
