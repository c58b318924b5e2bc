"""The event stream: where the outbox relay appends committed events for consumer groups.

One stream holds every event (`shopcore:events` by default), so a consumer group sees all
events in the order the relay published them and reads only the types it handles. Failed
entries go to a dead-letter stream beside it (`<stream>:dead`).

Appending never trims. XADD's MAXLEN would drop the oldest entries whether or not a group has
read and acknowledged them, so a stopped worker would lose its backlog. Instead every
`trim_every` appended entries the publisher trims with MINID below the lowest entry still
pending or unread for any group (`trimming.py`): retention bounds the stream in the normal
case, and a lagging group holds back the trim instead of losing events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from adapters.machinery.outbox import OutboxEntry
from adapters.messaging.codec import entry_fields
from adapters.messaging.trimming import trim_stream

logger = logging.getLogger("shopcore.streams")


@dataclass(frozen=True)
class EventStreams:
    """Stream names; tests give each run a prefix of its own so runs cannot collide."""

    events: str = "shopcore:events"
    dead: str = "shopcore:events:dead"

    @classmethod
    def named(cls, events: str) -> EventStreams:
        return cls(events=events, dead=f"{events}:dead")


class RedisStreamPublisher:
    def __init__(
        self,
        redis: Redis,
        streams: EventStreams | None = None,
        *,
        retain: int = 100_000,
        trim_every: int = 1_000,
    ) -> None:
        self._redis = redis
        self._stream = (streams or EventStreams()).events
        self._retain = retain
        self._trim_every = trim_every
        self._since_trim = 0

    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        # MULTI/EXEC: the batch is appended whole, in order, with nothing interleaved.
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                pipe.xadd(self._stream, entry_fields(entry))  # type: ignore[arg-type]
            ids: list[str] = await pipe.execute()
        self._since_trim += len(entries)
        if self._since_trim >= self._trim_every:
            self._since_trim = 0
            await self._trim()
        return ids

    async def _trim(self) -> None:
        try:
            await trim_stream(self._redis, self._stream, retain=self._retain)
        except Exception:  # trimming is housekeeping: the events are published either way
            logger.exception("could not trim %s", self._stream)
