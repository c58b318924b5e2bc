"""Rate limits: the counting middleware every limit uses, and tighter limits on single routes
(`middleware=[limited("auth")]`) on top of the default.

The limits are built with the app from its configuration (`app.state["limits"]`, see
`app.rate_limits`), after the controllers are defined, so a route names its bucket and the
limiter is looked up on the first request the route sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Message, Receive, Scope, Send


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


# Count one request and start the window on the first: one atomic round trip to Redis.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
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
            script = getattr(self, "_script", None)
            if script is None:
                script = self._script = store._redis.register_script(_COUNT)
                self._slots = asyncio.Semaphore(REDIS_SLOTS)
            async with self._slots:
                count, ttl = await script(keys=[store._make_key(key)], args=[window])
            return int(count), int(ttl)
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
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                scope_headers = MutableScopeHeaders(message)
                for name, value in headers.items():
                    scope_headers[name] = value
            await send(message)

        return send_with_headers
