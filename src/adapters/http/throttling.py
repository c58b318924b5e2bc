"""Rate limits: the counting middleware every limit uses, and tighter limits on single routes
(`middleware=[limited("auth")]`) on top of the default.

The limits are built with the app from its configuration (`app.state["limits"]`, see
`app.rate_limits`), after the controllers are defined, so a route names its bucket and the
limiter is looked up on the first request the route sees.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

logger = logging.getLogger("shopcore.rate_limit")


def limited(bucket: str) -> Callable[[ASGIApp], ASGIApp]:
    """Route middleware applying the app's rate limit named `bucket`."""

    def wrap(app: ASGIApp) -> ASGIApp:  # Litestar passes the next app as `app=`
        # Litestar wraps each route once per app, so one limiter here serves one app.
        limiter: ASGIApp | None = None

        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal limiter
            if limiter is None:
                litestar: Any = scope["litestar_app"]
                config: RateLimitConfig = litestar.state["limits"][bucket]
                limiter = config.middleware(app)
            await limiter(scope, receive, send)

        return call

    return wrap


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


@dataclass
class _Window:
    """What this process knows of one client's window in Redis."""

    closes: float  # monotonic time the window closes
    shared: int  # the count Redis last answered
    synced: float  # when it answered
    pending: int = 0  # admitted here, not yet sent
    sending: int = 0  # sent, not yet answered
    flushing: bool = False


class SharedCounts:
    """The counts of one limiter in Redis, with most requests admitted on what this process
    already knows.

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

    def __init__(self, redis: Redis, limit: int, window: int) -> None:
        self._script = redis.register_script(_COUNT)
        self._slots = asyncio.Semaphore(REDIS_SLOTS)
        self._limit = limit
        self._window = window
        self._margin = limit // 10 if limit >= LOCAL_FROM else 0
        self._windows: dict[str, _Window] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    async def count(self, key: str) -> tuple[int, int]:
        """This request's count in the window and the seconds until the window closes."""
        now = time.monotonic()
        known = self._windows.get(key)
        if known is not None and self._admits_here(known, now):
            known.pending += 1
            if not known.flushing:
                known.flushing = True
                flush = asyncio.create_task(self._flush(key, known))
                self._flushes.add(flush)
                flush.add_done_callback(self._flushes.discard)
            estimate = known.shared + known.sending + known.pending
            return estimate, max(0, round(known.closes - now))
        return await self._count_now(key, known, now)

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
        async with self._slots:
            count, ttl = await self._script(keys=[key], args=[self._window, unsent + 1])
        count, ttl = int(count), int(ttl)
        answered = time.monotonic()
        current = self._windows.get(key)
        if current is None or answered >= current.closes or current is not known:
            self._forget_closed(answered)
            self._windows[key] = _Window(answered + ttl, count, answered)
        else:
            current.shared, current.synced = max(current.shared, count), answered
        return count, ttl

    async def _flush(self, key: str, known: _Window) -> None:
        try:
            while known.pending:
                await asyncio.sleep(FLUSH_SECONDS)
                sending, known.pending = known.pending, 0
                known.sending += sending
                try:
                    async with self._slots:
                        count, _ttl = await self._script(keys=[key], args=[self._window, sending])
                except Exception:
                    known.pending += sending  # sent again with the next flush
                    logger.warning("could not send %d rate-limit counts", sending, exc_info=True)
                    await asyncio.sleep(1)
                    continue
                finally:
                    known.sending -= sending
                known.shared, known.synced = max(known.shared, int(count)), time.monotonic()
        finally:
            known.flushing = False

    def _forget_closed(self, now: float) -> None:
        """Keeps one entry per client only while its window is open."""
        if len(self._windows) < 10_000:
            return
        for key in [k for k, w in self._windows.items() if w.closes <= now and not w.flushing]:
            del self._windows[key]


class FixedWindowRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's limiter, counting instead of logging: a window opens with a client's first
    request and allows `limit` requests until it closes.

    Litestar's own middleware keeps a log of every request's timestamp per client in the store
    and reads, decodes, re-encodes and writes that whole log on every request, one request at a
    time per process (under a lock), in two round trips. Its cost grows with the limit: at
    600 a minute a client at the limit costs 600 timestamps per request, and every client
    behind one proxy address shares one log. Here a request costs one counter increment: one
    atomic script in Redis (so API processes share the count without racing), or a few bytes
    in the process's own store. Responses carry the same RateLimit-* headers, and a refusal
    says when the window closes in Retry-After.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if not await self.should_check_request(request=request):
            await self.app(scope, receive, send)
            return
        store = self.config.get_store_from_app(app)
        window = DURATION_VALUES[self.unit]
        count, closes_in = await self._count(store, self.cache_key_from_request(request), window)
        headers = self._headers(count, closes_in)
        if count > self.max_requests:
            raise TooManyRequestsException(
                headers={**headers, "Retry-After": str(max(1, closes_in))}
                if self.config.set_rate_limit_headers
                else {"Retry-After": str(max(1, closes_in))}
            )
        if self.config.set_rate_limit_headers:
            send = self._with_headers(send, headers)
        await self.app(scope, receive, send)

    async def _count(self, store: Store, key: str, window: int) -> tuple[int, int]:
        if isinstance(store, RedisStore):
            counts: SharedCounts | None = getattr(self, "_shared", None)
            if counts is None:
                counts = self._shared = SharedCounts(store._redis, self.max_requests, window)
            return await counts.count(store._make_key(key))
        # Any other store lives in this process: a lock makes read-and-write one step.
        async with self._lock:
            now = int(time.time())
            raw = await store.get(key)
            count, closes = (int(part) for part in raw.split(b":")) if raw else (0, 0)
            if closes <= now:
                count, closes = 0, now + window
            count += 1
            await store.set(key, f"{count}:{closes}", expires_in=closes - now)
            return count, closes - now

    def _headers(self, count: int, closes_in: int) -> dict[str, str]:
        config, window = self.config, DURATION_VALUES[self.unit]
        return {
            config.rate_limit_policy_header_key: f"{self.max_requests}; w={window}",
            config.rate_limit_limit_header_key: str(self.max_requests),
            config.rate_limit_remaining_header_key: str(max(0, self.max_requests - count)),
            config.rate_limit_reset_header_key: str(max(0, closes_in)),
        }

    @staticmethod
    def _with_headers(send: Send, headers: dict[str, str]) -> Send:
        # The RateLimit-* names are set nowhere else: appended as raw pairs, not looked up.
        raw = [(name.lower().encode("latin-1"), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(message.get("headers") or ()), *raw]
            await send(message)

        return send_with_headers
