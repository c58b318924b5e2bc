"""Redis Streams as shopcore uses them: the relay's append script, consumer groups, XACK."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis

from adapters.machinery.outbox import OutboxEntry
from adapters.messaging.streams import EventStreams, RedisStreamPublisher
from bench.brokers.broker import GROUPS, Acked

READ_COUNT = 100  # entries per XREADGROUP
BLOCK_MS = 1_000

# XREADGROUP's answer with decode_responses: per stream, its entries (id, fields).
_ReadReply = list[tuple[str, list[tuple[str, dict[str, str]]]]] | None


class RedisStreamsBroker:
    """`prefix` keeps every key of the run under the bench's own name (the Redis is shared)."""

    def __init__(self, name: str, url: str, prefix: str) -> None:
        self.name = name
        self._url = url
        self._streams = EventStreams.named(f"{prefix}:events")
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._publisher = RedisStreamPublisher(self._redis, self._streams, groups=GROUPS)

    def _keys(self) -> list[str]:
        streams = self._streams
        return [streams.events, streams.dead, streams.fed, streams.confirmed]

    async def reset(self) -> None:
        await self._redis.delete(*self._keys())
        await self._publisher.open_feed()  # creates both groups from the stream's start

    async def publish(self, entries: Sequence[OutboxEntry]) -> None:
        await self._publisher.publish(entries)

    async def consume(self, group: str, acked: Acked, stop: asyncio.Event) -> None:
        redis: Redis = Redis.from_url(self._url, decode_responses=True)
        stream = self._streams.events
        try:
            while not stop.is_set():
                reply = cast(
                    _ReadReply,
                    await redis.xreadgroup(
                        group, "bench-1", {stream: ">"}, count=READ_COUNT, block=BLOCK_MS
                    ),
                )
                for _name, entries in reply or ():
                    if not entries:
                        continue
                    await redis.xack(stream, group, *(entry_id for entry_id, _ in entries))
                    for _entry_id, fields in entries:
                        acked(fields["event_id"])
        finally:
            await redis.aclose()

    async def close(self) -> None:
        await self._redis.delete(*self._keys())
        await self._redis.aclose()
