"""The event stream: where the outbox relay appends committed events for consumer groups.

One stream holds every event (`shopcore:events` by default), so a consumer group sees all
events in the order the relay published them and reads only the types it handles. Each entry
carries the id of its outbox row (`codec.entry_fields`), which is how the outbox learns what
every group has acknowledged.

Redis may restart empty; the outbox, not the stream, is the record of what must be delivered
(`adapters.machinery.outbox`). A key beside the stream (`{<stream>}:fed`, in the stream's
hash slot for Redis Cluster: `adapters.messaging.keys`) says that this stream
is the one the outbox has been feeding: `open_feed` sets it, after creating every consumer
group the shop has (so each sees every entry from the first), and the append script refuses
to add anything to a stream without it (`FeedLost`). A Redis that lost its data has lost that
key too, so the relay finds out on its next append or settle and publishes again what no
longer is anywhere. A Redis that came back with an older copy of its data still has the key,
but its stream ends before the last entry the outbox marked published (`acknowledged(fed)`)
and before the last entry this publisher appended or settled: the append script refuses such a
stream too, since an append would move the stream's end past the lost entries and hide the
loss from the next settle. So the relay may publish before it settles.

`acknowledged` reads, from where it last stopped (`{<stream>}:confirmed`) up to the last entry
every group has acknowledged (`trimming.acknowledged_through`), the outbox ids of those
entries; once the outbox has confirmed them, `release` moves that cursor on (only if the feed
is still the one they were read from: `{<stream>}:fed` holds a token of each opening) and, every
`trim_every` appended entries, trims the stream with MINID: never past the cursor, so no entry
leaves the stream before its row is confirmed (and so never one that a group still needs).
XADD's MAXLEN is never used: it drops the oldest entries whether or not a group has them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import ResponseError

from adapters.machinery.outbox import Acknowledged, FeedLost, OutboxEntry
from adapters.messaging.codec import OUTBOX_ID, entry_fields
from adapters.messaging.connection import RedisClient
from adapters.messaging.keys import together
from adapters.messaging.trimming import acknowledged_through, stream_id, trim_stream

logger = logging.getLogger("shopcore.streams")

# Entries read per settle: more than the relay publishes in a second (bench item 5).
SETTLE_BATCH = 5_000

# The batch is appended whole, in order, with nothing interleaved (a script runs alone), and
# only to a stream the outbox has been feeding. ARGV: per entry, how many field arguments
# follow, then those arguments (entries differ: one written with tracing on carries its trace
# context, one written with it off does not).
# The confirmation cursor moves only within the feed it was read in: a settle that read the
# old stream must not leave its cursor in the new one (whose ids may be lower).
_MOVE_CURSOR = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) end
"""

# ARGV[1]: the newest stream id this publisher knows the stream reached (its own last append,
# or the position the outbox last recorded), or '' when it knows none. A stream that ends
# before it is an older copy of the fed one (Redis restarted from a snapshot): appending to it
# would record a position past the lost entries and hide the loss, so the script refuses.
_APPEND = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  return redis.error_reply('NOFEED this stream is not fed by the outbox')
end
if ARGV[1] ~= '' then
  local ends = '0-0'
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    for k = 1, #info, 2 do
      if info[k] == 'last-generated-id' then ends = info[k + 1] end
    end
  end
  local ends_ms, ends_seq = string.match(ends, '^(%d+)-(%d+)$')
  local need_ms, need_seq = string.match(ARGV[1], '^(%d+)-(%d+)$')
  ends_ms, ends_seq = tonumber(ends_ms), tonumber(ends_seq)
  need_ms, need_seq = tonumber(need_ms), tonumber(need_seq)
  if ends_ms < need_ms or (ends_ms == need_ms and ends_seq < need_seq) then
    return redis.error_reply('NOFEED this stream ends before ' .. ARGV[1])
  end
end
local ids = {}
local i = 2
while i <= #ARGV do
  local width = tonumber(ARGV[i])
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + width))
  i = i + width + 1
end
return ids
"""


@dataclass(frozen=True)
class EventStreams:
    """Stream names; tests give each run a prefix of its own so runs cannot collide."""

    events: str = "shopcore:events"
    dead: str = "shopcore:events:dead"

    @classmethod
    def named(cls, events: str) -> EventStreams:
        return cls(events=events, dead=f"{events}:dead")

    @property
    def fed(self) -> str:
        """The key that says the outbox feeds this stream (in the stream's hash slot: the
        append script touches both)."""
        return f"{together(self.events)}:fed"

    @property
    def confirmed(self) -> str:
        """The last entry whose outbox row is confirmed (in the stream's slot too)."""
        return f"{together(self.events)}:confirmed"


class RedisStreamPublisher:
    def __init__(
        self,
        redis: RedisClient,
        streams: EventStreams | None = None,
        *,
        groups: Sequence[str] = (),
        retain: int = 100_000,
        trim_every: int = 1_000,
    ) -> None:
        """`groups`: the consumer groups that must see every entry (the shop's handler
        groups), created whenever the feed opens."""
        self._redis = redis
        self._streams = streams or EventStreams()
        self._stream = self._streams.events
        self._groups = tuple(groups)
        self._append = redis.register_script(_APPEND)
        self._move_cursor = redis.register_script(_MOVE_CURSOR)
        self._feed: str | None = None  # the feed `acknowledged` last read from
        # The newest id the stream is known to have reached (the append script's check); None
        # after a feed opens, until something is appended or settled.
        self._reached: str | None = None
        self._retain = retain
        self._trim_every = trim_every
        self._since_trim = 0

    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        if not entries:
            return []
        args: list[str | int] = [self._reached or ""]
        for entry in entries:
            fields = entry_fields(entry)
            args.append(2 * len(fields))
            for name, value in fields.items():
                args += [name, value]
        try:
            ids = await self._append(keys=[self._stream, self._streams.fed], args=args)
        except ResponseError as error:
            if str(error).startswith("NOFEED"):
                raise FeedLost(f"{self._stream} is not fed by the outbox") from error
            raise
        self._since_trim += len(entries)
        appended = [str(entry_id) for entry_id in ids]
        self._reached = appended[-1]
        return appended

    async def open_feed(self) -> None:
        for group in self._groups:
            try:
                await self._redis.xgroup_create(self._stream, group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._streams.confirmed)
            # When it was opened, and by whom: tells this feed from any earlier one.
            pipe.set(self._streams.fed, f"{datetime.now(UTC).isoformat()} {secrets.token_hex(4)}")
            await pipe.execute()
        self._reached = None  # a new feed: nothing to hold it to yet

    async def acknowledged(self, fed: str | None) -> Acknowledged:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._streams.fed)
            pipe.exists(self._stream)
            pipe.get(self._streams.confirmed)
            self._feed, exists, cursor = await pipe.execute()
        if self._feed is None:
            raise FeedLost(f"{self._stream} is not fed by the outbox")
        if fed is not None and stream_id(await self._end() if exists else "0-0") < stream_id(fed):
            raise FeedLost(f"{self._stream} ends before {fed}, the last entry the outbox published")
        if fed is not None and (self._reached is None or stream_id(fed) > stream_id(self._reached)):
            self._reached = fed  # another relay may have published since this one last did
        through = await acknowledged_through(self._redis, self._stream) if exists else None
        if through is None or through == "0-0":  # no group, or one that has read nothing
            return Acknowledged()
        start = "-" if cursor is None else f"({cursor}"
        entries = await self._redis.xrange(self._stream, start, through, count=SETTLE_BATCH)
        if not entries:
            return Acknowledged()
        ids = [
            int(fields[OUTBOX_ID])
            for _entry_id, fields in entries
            if fields and fields.get(OUTBOX_ID, "").isdigit()
        ]
        return Acknowledged(outbox_ids=ids, through=str(entries[-1][0]))

    async def _end(self) -> str:
        """The id of the last entry ever appended (trimming does not move it)."""
        info = await self._redis.xinfo_stream(self._stream)
        return str(info["last-generated-id"])

    async def release(self, acknowledged: Acknowledged) -> None:
        through = acknowledged.through
        if through is not None and self._feed is not None:
            keys = [self._streams.fed, self._streams.confirmed]
            await self._move_cursor(keys=keys, args=[self._feed, through])
        if self._since_trim < self._trim_every:
            return
        self._since_trim = 0
        try:
            # The cursor as this feed holds it (not `through`, which may be from a lost one).
            cursor = await self._redis.get(self._streams.confirmed)
            if cursor is not None:  # nothing confirmed yet: nothing may go
                await trim_stream(self._redis, self._stream, retain=self._retain, floor=str(cursor))
        except Exception:  # trimming is housekeeping: the events are confirmed either way
            logger.exception("could not trim %s", self._stream)
