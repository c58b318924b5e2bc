"""The stock feed of an API process, read from the event stream: every process sees every
change, whichever process committed it.

One reader task per process follows the stream with a blocking XREAD (no consumer group: a
group would share the entries out among the processes, and every process needs all of them),
keeps the StockChanged entries and fans them out to the subscriptions of this process. A
position is the stream entry id, so a client's `Last-Event-ID` resumes with XRANGE from it,
as far back as the stream is kept (`SHOPCORE_EVENTS_RETENTION`), scanning at most
`max_replay` entries before it gives up and asks for a snapshot instead.

The reader publishes under a lock that a resume also takes while it reads the backlog up to the
reader's position: everything up to that position comes from the backlog, everything after it
live, nothing twice and nothing missed.

Redis may go away at any time. The reader then retries with backoff (up to 2 s) and the open
streams keep waiting, with their heartbeats, for the updates that follow when it is back; a new
subscription is refused meanwhile with Busy (503 with Retry-After), since the feed cannot
promise it anything. If Redis came back empty, or lost its newest entries (a replica that had
not received them promoted by a Redis Cluster failover, an older snapshot), its stream now ends
below the reader's position: the reader notices and follows the stream from where it ends now
(its start, when empty), where the relay publishes again the events that no consumer group had
acknowledged (older stock levels first, then the newest: a stream shows them in order and ends
on the current level). What the stream still holds up to there, the reader had read already
(it is what the lost stream began with); following from the start instead would hand every
subscription the whole retained stream again. A client that resumes with a position from a
lost stream gets a fresh snapshot when that position lies ahead of the stream.

The events reach the stream through the outbox relay (`shopcore worker` or `shopcore relay`).
On PostgreSQL the commit itself wakes the relay (a NOTIFY trigger on the outbox), so the time
from commit to browser is the relay's claim and XADD (a few round trips), the blocking XREAD
returning, and the fan-out: each update is offered to every subscription of its SKU and encoded
once for all of their streams. The relay's poll interval bounds it only when no notification
comes (SQLite, or while the relay's listener reconnects).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Collection
from datetime import UTC, datetime

from adapters.machinery.backoff import backoff
from adapters.machinery.stock_fanout import StockFanOut, StockSubscription, StockUpdate
from adapters.messaging.codec import Fields, UndecodableEntry, decode_event
from adapters.messaging.connection import RedisClient, RedisFailure
from adapters.messaging.streams import EventStreams
from adapters.messaging.trimming import stream_id
from shopcore.inventory.events import StockChanged
from shopcore.shared.errors import Busy

logger = logging.getLogger("shopcore.stock_feed")

_STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
_KIND = StockChanged.__name__

# What XREAD and XRANGE answer (RESP2, str responses); a null for none.
_Entries = list[tuple[str, Fields | None]]
_ReadReply = list[tuple[str, _Entries]] | None


class RedisStockFeed:
    def __init__(
        self,
        redis: RedisClient,
        streams: EventStreams,
        *,
        capacity: int = 1_000,
        block_ms: int = 1_000,
        batch: int = 500,
        max_replay: int = 10_000,
    ) -> None:
        self._redis = redis
        self._stream = streams.events
        self._block_ms = block_ms
        self._batch = batch
        self._max_replay = max_replay
        self._fan_out = StockFanOut(capacity)
        self._lock = asyncio.Lock()
        self._last: str | None = None  # the last entry id the reader has handled
        self._reachable = False  # the reader's last call to Redis succeeded
        self._reader: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def fan_out(self) -> StockFanOut:
        return self._fan_out

    @property
    def position(self) -> str | None:
        return self._last

    async def start(self) -> None:
        """Find the stream's end and follow it from there. If Redis does not answer now, the
        reader keeps trying, and streams answer 503 until it does."""
        if self._reader is not None:
            return
        self._stopping = False
        try:
            async with asyncio.timeout(2):
                self._last = await self._head()
            self._reachable = True
        except Exception:
            logger.warning("the event stream %s is unreachable for now", self._stream)
        self._reader = asyncio.create_task(self._follow(), name="stock-feed-reader")

    async def stop(self) -> None:
        """Ends the open streams and the reader. The reader is cancelled and also told to
        stop: a cancellation that lands while redis-py is settling a blocking read can be
        swallowed, and then the flag ends the loop after that read (`block_ms`)."""
        self._stopping = True
        self._fan_out.end_all()
        reader, self._reader = self._reader, None
        if reader is None:
            return
        reader.cancel()
        _, pending = await asyncio.wait({reader}, timeout=self._block_ms / 1000 + 5)
        if pending:
            logger.warning("the stock feed reader did not stop")

    async def subscribe(self, skus: Collection[str], after: str | None) -> StockSubscription:
        wanted = frozenset(skus)
        if self._last is None or not self._reachable:
            raise Busy("live stock is not connected to the event stream; retry shortly")
        if after is None or not _STREAM_ID.fullmatch(after):
            return self._fan_out.open(wanted, position=self._last, resumed=False)
        async with self._lock:  # the reader publishes nothing meanwhile
            through = self._last
            try:
                replay = await self._replay(wanted, after, through)
            except RedisFailure as error:
                raise Busy("live stock cannot reach the event stream; retry shortly") from error
            return self._fan_out.open(
                wanted, position=through, resumed=replay is not None, backlog=replay or ()
            )

    async def _follow(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                after = (
                    await self._find_position() if self._last is None or failures else self._last
                )
                reply: _ReadReply = await self._redis.xread(  # type: ignore[assignment]
                    {self._stream: after}, count=self._batch, block=self._block_ms
                )
                self._reachable = True
                async with self._lock:
                    for _stream, entries in reply or ():
                        for entry_id, fields in entries:
                            self._publish(entry_id, fields)
                            self._last = entry_id
            except Exception:
                self._reachable = False
                failures += 1
                if failures == 1:
                    logger.exception("could not read %s; retrying with backoff", self._stream)
                await asyncio.sleep(backoff(failures, 0.05, 2.0))
                continue
            if failures:
                logger.info("following %s again after %d failed reads", self._stream, failures)
            failures = 0

    async def _find_position(self) -> str:
        """Where to follow from, at start and after Redis was unreachable: the last entry
        read, or the stream's end when it now ends below that (Redis lost its newest entries,
        or all of them: the module docstring)."""
        head = await self._head()
        async with self._lock:  # a resume reading the backlog sees one position throughout
            if self._last is None:
                self._last = head
            elif stream_id(head) < stream_id(self._last):
                logger.warning(
                    "%s ends at %s, before %s read last (Redis lost entries): following it "
                    "from there",
                    self._stream,
                    head,
                    self._last,
                )
                self._last = head
            return self._last

    async def _head(self) -> str:
        """The newest entry id: the reader follows what comes after it."""
        newest = await self._redis.xrevrange(self._stream, count=1)
        return str(newest[0][0]) if newest else "0-0"

    def _publish(self, entry_id: str, fields: Fields | None) -> None:
        update = _update(entry_id, fields)
        if update is not None:
            self._fan_out.publish(update)

    async def _replay(
        self, skus: frozenset[str], after: str, through: str
    ) -> list[StockUpdate] | None:
        """The updates of `skus` in (after, through], or None when they cannot all be had:
        `after` lies ahead of the reader (not from this stream), or before the oldest entry
        kept (trimmed since), or too far back to scan."""
        if stream_id(after) > stream_id(through):
            return None
        if after == through:
            return []
        oldest = await self._redis.xrange(self._stream, "-", "+", count=1)
        if not oldest or stream_id(str(oldest[0][0])) > stream_id(after):
            return None
        updates: list[StockUpdate] = []
        start, scanned = f"({after}", 0
        while True:
            page: _Entries = await self._redis.xrange(  # type: ignore[assignment]
                self._stream, start, through, count=self._batch
            )
            for entry_id, fields in page:
                update = _update(entry_id, fields)
                if update is not None and update.sku in skus:
                    updates.append(update)
            scanned += len(page)
            if scanned > self._max_replay:
                return None
            if len(page) < self._batch:
                return updates
            start = f"({page[-1][0]}"


def _update(entry_id: str, fields: Fields | None) -> StockUpdate | None:
    if not fields or fields.get("type") != _KIND:
        return None
    try:
        event = decode_event(fields)
    except UndecodableEntry:
        logger.warning("skipping undecodable stream entry %s", entry_id)
        return None
    if not isinstance(event, StockChanged):
        return None
    return StockUpdate(
        position=entry_id,
        sku=event.sku,
        available=event.available,
        at=event.at or _entry_time(entry_id),
    )


def _entry_time(entry_id: str) -> datetime:
    """When the relay appended the entry (the id's milliseconds)."""
    milliseconds, _ = stream_id(entry_id)
    return datetime.fromtimestamp(milliseconds / 1000, UTC)
