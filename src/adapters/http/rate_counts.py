"""The rate limiter's counts: shared in Redis by every API process, and counted in the
process alone while Redis does not answer.

Redis down is a routine fault (a restart, a failover), and a limiter that fails closed turns it
into an outage of the whole shop: every request a 500, or a 503 if handled. So the limiter
falls back to counting in each process (`LocalCounts`), with the same windows and limits: one
process enforces its limit exactly, and N API processes admit up to N times the limit from one
client until Redis answers again. That is the better failure: the limits are there to stop
abuse (password guessing, scraping, checkout floods), which a few minutes at N times the limit
does not make worthwhile, while refusing every request would stop every honest customer; the
login and checkout limits (5 and 10 a minute by default) still hold per process. Redis is tried
again once a second, by one request (`adapters.machinery.outage`), and the outage is logged
when it starts and when it ends, not per request. Counts admitted locally are not sent to Redis
afterwards: the windows they belong to close within a minute anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from adapters.machinery.outage import Outage

logger = logging.getLogger("shopcore.rate_limit")

# Count requests and start the window on the first: one atomic round trip to Redis.
_COUNT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""

# In-flight counts per limiter and process. redis-py's pool refuses a connection beyond its
# maximum (100 by default) instead of waiting, and hundreds of concurrent requests (a flash
# sale) would each want one at once; a count takes a fraction of a millisecond, so a few
# connections per limiter serve tens of thousands of requests a second.
REDIS_SLOTS = 16

# Local counting (see SharedCounts): a process hands its counts to Redis this often.
FLUSH_SECONDS = 0.05
# Limits under this many a window are always counted in Redis first, request by request.
LOCAL_FROM = 100
# Clients whose windows a process keeps before it forgets the closed ones.
_KEEP = 10_000

# What a failing Redis raises: its own errors, and the OS's for a connection it cannot make;
# a cluster client also RedisClusterException (no node reachable, a slot not served yet).
_UNREACHABLE = (RedisError, RedisClusterException, OSError)


@dataclass
class _Window:
    """What this process knows of one client's window in Redis."""

    closes: float  # monotonic time the window closes
    shared: int  # the count Redis last answered
    synced: float  # when it answered
    pending: int = 0  # admitted here, not yet sent
    sending: int = 0  # sent, not yet answered
    flushing: bool = False


class LocalCounts:
    """Fixed windows counted in this process alone: a window opens with a client's first
    request and counts until it closes."""

    def __init__(self, window: int) -> None:
        self._window = window
        self._windows: dict[str, list[float]] = {}  # key -> [count, closes (monotonic)]

    def count(self, key: str, now: float) -> tuple[int, int]:
        """This request's count in the window and the seconds until the window closes."""
        known = self._windows.get(key)
        if known is None or known[1] <= now:
            if len(self._windows) >= _KEEP:
                for closed in [k for k, (_, closes) in self._windows.items() if closes <= now]:
                    del self._windows[closed]
            known = self._windows[key] = [0, now + self._window]
        known[0] += 1
        return int(known[0]), max(0, round(known[1] - now))

    def clear(self) -> None:
        self._windows.clear()


class SharedCounts:
    """The counts of one limiter in Redis, with most requests admitted on what this process
    already knows, and in this process alone while Redis fails (module docstring).

    Counting every request in Redis costs a round trip each, which was half of a cached
    catalog read's time. Here, while a client is far from its limit, a request is admitted on
    the last count Redis gave plus what this process admitted since, and the process sends
    its admissions in one INCRBY every FLUSH_SECONDS. A request is counted in Redis before it
    is answered (exactly, as before) when this process knows nothing recent of the client,
    when its count is within a tenth of the limit, when this process has a tenth of the limit
    unsent, and always for limits under LOCAL_FROM (the auth and checkout limits). One
    process is exact; with several, a client can get past the limit by what the others
    admitted in their last flush interval, under a tenth of the limit each.
    """

    def __init__(
        self, redis: Redis | RedisCluster, limit: int, window: int, *, retry_after: float = 1.0
    ) -> None:
        self._script = redis.register_script(_COUNT)
        self._slots = asyncio.Semaphore(REDIS_SLOTS)
        self._limit = limit
        self._window = window
        self._margin = limit // 10 if limit >= LOCAL_FROM else 0
        self._windows: dict[str, _Window] = {}
        self._flushes: set[asyncio.Task[None]] = set()
        self._local = LocalCounts(window)
        self._outage = Outage(
            "Redis (rate-limit counts; counting per process)", logger, retry_after=retry_after
        )

    async def count(self, key: str) -> tuple[int, int]:
        """This request's count in the window and the seconds until the window closes."""
        now = time.monotonic()
        known = self._windows.get(key)
        if self._outage.ongoing:
            if not self._outage.should_try():
                return self._local.count(key, now)
            # This request probes Redis: counted there, with what was admitted here unsent.
        elif known is not None and self._admits_here(known, now):
            known.pending += 1
            if not known.flushing:
                known.flushing = True
                flush = asyncio.create_task(self._flush(key, known))
                self._flushes.add(flush)
                flush.add_done_callback(self._flushes.discard)
            estimate = known.shared + known.sending + known.pending
            return estimate, max(0, round(known.closes - now))
        try:
            counted = await self._count_now(key, known, now)
        except _UNREACHABLE as error:
            self._outage.failed(error)
            return self._local.count(key, now)
        if self._outage.succeeded():
            self._local.clear()
        return counted

    def _admits_here(self, known: _Window, now: float) -> bool:
        return (
            self._margin > 0
            and now < known.closes
            and now - known.synced < 2 * FLUSH_SECONDS + 1
            and known.pending + known.sending < self._margin
            and known.shared + known.sending + known.pending + 1 <= self._limit - self._margin
        )

    async def _count_now(self, key: str, known: _Window | None, now: float) -> tuple[int, int]:
        unsent = 0
        if known is not None and now < known.closes:
            unsent, known.pending = known.pending, 0
        try:
            async with self._slots:
                count, ttl = await self._script(keys=[key], args=[self._window, unsent + 1])
        except BaseException:
            if known is not None:
                known.pending += unsent  # sent with a later count
            raise
        count, ttl = int(count), int(ttl)
        answered = time.monotonic()
        current = self._windows.get(key)
        if current is None or answered >= current.closes:
            self._forget_closed(answered)
            self._windows[key] = _Window(answered + ttl, count, answered)
        else:
            # Open, whether this count knew it or not: a burst's first requests all count in
            # Redis before any window is known here, and the first answer opens it. Replaced
            # by a later answer, it would drop what was admitted on it meanwhile (still
            # flushed, so counted in Redis, but missing from the counts answered here).
            current.shared, current.synced = max(current.shared, count), answered
        return count, ttl

    async def _flush(self, key: str, known: _Window) -> None:
        """Sends what this process admitted, until nothing is left; gives up while Redis
        fails (what is left goes with the client's next count that reaches Redis)."""
        try:
            while known.pending and not self._outage.ongoing:
                await asyncio.sleep(FLUSH_SECONDS)
                sending, known.pending = known.pending, 0
                known.sending += sending
                try:
                    async with self._slots:
                        count, _ttl = await self._script(keys=[key], args=[self._window, sending])
                except _UNREACHABLE as error:
                    known.pending += sending
                    self._outage.failed(error)
                    return
                finally:
                    known.sending -= sending
                known.shared, known.synced = max(known.shared, int(count)), time.monotonic()
        finally:
            known.flushing = False

    def _forget_closed(self, now: float) -> None:
        """Keeps one entry per client only while its window is open."""
        if len(self._windows) < _KEEP:
            return
        for key in [k for k, w in self._windows.items() if w.closes <= now and not w.flushing]:
            del self._windows[key]
