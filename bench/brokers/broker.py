"""What the harness asks of a broker: publish a batch with confirms, serve a consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from adapters.machinery.outbox import OutboxEntry

# shopcore's handler groups (`shopcore.subscriptions`): every event reaches both.
GROUPS = ("catalog-cache", "notifications")

Acked = Callable[[str], None]  # called with an event id once its group acknowledged it


class Broker(Protocol):
    name: str

    async def reset(self) -> None:
        """A fresh, empty stream (or exchange and queues) with both groups at its start."""

    async def publish(self, entries: Sequence[OutboxEntry]) -> None:
        """Publish `entries` in order; return once the broker confirmed every one."""

    async def consume(self, group: str, acked: Acked, stop: asyncio.Event) -> None:
        """Receive and acknowledge the group's events until `stop` is set."""

    async def close(self) -> None:
        """Delete what `reset` made and disconnect."""
