"""Trimming the event stream without dropping an entry that any group still needs.

A group still needs every entry it has not acknowledged: those in its pending list (read, not
yet acknowledged) and those after its last-delivered id (not read yet). So the lowest id any
group needs is, per group, the lowest pending id or else the last-delivered id, and the stream
may lose only entries below the lowest of those. Retention (`retain` newest entries) asks for
less; the safe floor wins when they disagree.

The floor only rises while it is computed (acknowledging and reading move forward), so reading
it and then trimming is safe without a script. A group created later with id 0, or moved back
with XGROUP SETID, is the exception: create groups before events are published to them.
"""

from __future__ import annotations

from adapters.messaging.connection import RedisClient

# One trim looks at most this many of the oldest entries; a long backlog is trimmed in steps.
MAX_TRIM_STEP = 10_000


def stream_id(value: str) -> tuple[int, int]:
    milliseconds, _, sequence = value.partition("-")
    return int(milliseconds), int(sequence or 0)


async def _positions(redis: RedisClient, stream: str) -> list[tuple[str, str | None]]:
    """Per group: its last-delivered id, and its lowest pending id (None: nothing pending)."""
    positions: list[tuple[str, str | None]] = []
    for group in await redis.xinfo_groups(stream):
        lowest = None
        if int(group["pending"]) > 0:
            lowest = (await redis.xpending(stream, group["name"]))["min"]
        positions.append((str(group["last-delivered-id"]), lowest and str(lowest)))
    return positions


async def needed_floor(redis: RedisClient, stream: str) -> str | None:
    """The lowest id that some group has not acknowledged, or None without groups. (Without
    pending entries that is the last-delivered id itself, which is acknowledged: it is kept
    anyway, as MINID keeps ids equal to the threshold, which costs nothing.)"""
    candidates = [lowest or delivered for delivered, lowest in await _positions(redis, stream)]
    return min(candidates, key=stream_id) if candidates else None


async def acknowledged_through(redis: RedisClient, stream: str) -> str | None:
    """The highest id up to which every group has acknowledged every entry ("0-0" while some
    group has acknowledged none), or None without groups."""
    candidates = [
        delivered if lowest is None else _before(lowest)
        for delivered, lowest in await _positions(redis, stream)
    ]
    return min(candidates, key=stream_id) if candidates else None


def _before(entry_id: str) -> str:
    """The highest possible id below `entry_id`."""
    milliseconds, sequence = stream_id(entry_id)
    if sequence:
        return f"{milliseconds}-{sequence - 1}"
    return f"{milliseconds - 1}-{2**64 - 1}" if milliseconds else "0-0"


async def trim_stream(
    redis: RedisClient,
    stream: str,
    *,
    retain: int,
    floor: str | None = None,
    approximate: bool = True,
) -> int:
    """Trim `stream` to about `retain` entries, never below `floor` (by default, the lowest
    entry some group still needs); returns how many entries were removed. `approximate` lets
    Redis trim whole internal nodes only, which is cheaper and may keep a few more entries,
    never fewer."""
    excess = int(await redis.xlen(stream)) - retain
    if excess <= 0:
        return 0
    oldest = await redis.xrange(stream, "-", "+", count=min(excess, MAX_TRIM_STEP) + 1)
    if not oldest:  # emptied meanwhile
        return 0
    threshold = str(oldest[-1][0])  # the first entry retention keeps
    if floor is None:
        floor = await needed_floor(redis, stream)
    if floor is not None and stream_id(floor) < stream_id(threshold):
        threshold = floor
    removed = await redis.xtrim(stream, minid=threshold, approximate=approximate)
    return int(removed)
