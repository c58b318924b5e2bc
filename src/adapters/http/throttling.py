"""Rate limits: the counting middleware every limit uses, and tighter limits on single routes
(`middleware=[limited("auth")]`) on top of the default.

The limits are built with the app from its configuration (`app.state["limits"]`, see
`app.rate_limits`), after the controllers are defined, so a route names its bucket and the
limiter is looked up on the first request the route sees. With Redis the counts are shared by
every API process, and kept per process while Redis does not answer (`rate_counts.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.rate_counts import SharedCounts


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


# Set in the scope by a layer that counted the request already (the catalog's edge path,
# catalog_edge.py): (the limit's config, count, seconds until the window closes).
PRECOUNTED = "shopcore.rate_count"


class _State:
    """What one limit counts with: shared by every limiter built from its config (one per
    route, and the edge's), so a client's count is one count whichever of them took it."""

    def __init__(self) -> None:
        self.shared: SharedCounts | None = None
        self.lock = anyio.Lock()


def _state_of(config: RateLimitConfig) -> _State:
    state: _State | None = config.__dict__.get("_shopcore_state")
    if state is None:
        state = config.__dict__["_shopcore_state"] = _State()
    return state


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

    def __init__(self, app: ASGIApp, config: RateLimitConfig) -> None:
        super().__init__(app, config)
        window = DURATION_VALUES[self.unit]
        self._window = window
        # The headers that do not change between requests, named and encoded once.
        self._policy = (
            (
                config.rate_limit_policy_header_key.lower().encode("latin-1"),
                f"{self.max_requests}; w={window}".encode(),
            ),
            (
                config.rate_limit_limit_header_key.lower().encode("latin-1"),
                str(self.max_requests).encode(),
            ),
        )
        self._remaining_name = config.rate_limit_remaining_header_key.lower().encode("latin-1")
        self._reset_name = config.rate_limit_reset_header_key.lower().encode("latin-1")
        # Litestar's default identifies a client by its address, which the scope holds: no
        # `Request` needed for it. Any other identifier or check gets the `Request`.
        self._by_address = (
            config.identifier_for_request is get_remote_address
            and config.check_throttle_handler is None
        )
        self._key_prefix = f"{type(self).__name__}::"

    @property
    def by_address(self) -> bool:
        """Whether clients are told apart by their address alone (Litestar's default)."""
        return self._by_address

    def address_key(self, scope: Scope, suffix: str = "") -> str:
        """The client's key when `by_address`: as `cache_key_from_request` makes it."""
        client = scope.get("client")
        return self._key_prefix + (client[0] if client else "127.0.0.1") + suffix

    async def count(self, litestar: Any, key: str) -> tuple[int, int]:
        """Counts one request of `key`: its count in the window, seconds until it closes."""
        return await self._count(self.config.get_store_from_app(litestar), key, self._window)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        counted: tuple[RateLimitConfig, int, int] | None = scope.get(PRECOUNTED)  # type: ignore[assignment]
        if counted is not None and counted[0] is self.config:
            count, closes_in = counted[1], counted[2]
        else:
            if self._by_address:
                key = self.address_key(scope, self._key_suffix(scope))
            else:
                request: Request[Any, Any, Any] = app.request_class(scope)
                if not await self.should_check_request(request=request):
                    await self.app(scope, receive, send)
                    return
                key = self.cache_key_from_request(request)
            count, closes_in = await self.count(app, key)
        if count > self.max_requests:
            retry_after = {"Retry-After": str(max(1, closes_in))}
            raise TooManyRequestsException(
                headers={**self._headers(count, closes_in), **retry_after}
                if self.config.set_rate_limit_headers
                else retry_after
            )
        if self.config.set_rate_limit_headers:
            send = self._with_headers(send, self.raw_headers(count, closes_in))
        await self.app(scope, receive, send)

    @staticmethod
    def _key_suffix(scope: Scope) -> str:
        # As `RateLimitMiddleware.cache_key_from_request`: mounts and static files apart.
        route_handler = scope["route_handler"]
        suffix = "::mount" if getattr(route_handler, "is_mount", False) else ""
        return suffix + "::static" if getattr(route_handler, "is_static", False) else suffix

    def raw_headers(self, count: int, closes_in: int) -> list[tuple[bytes, bytes]]:
        """The RateLimit-* header pairs of an admitted request."""
        return [
            *self._policy,
            (self._remaining_name, str(max(0, self.max_requests - count)).encode()),
            (self._reset_name, str(max(0, closes_in)).encode()),
        ]

    async def _count(self, store: Store, key: str, window: int) -> tuple[int, int]:
        state = _state_of(self.config)
        if isinstance(store, RedisStore):
            if state.shared is None:
                state.shared = SharedCounts(store._redis, self.max_requests, window)
            return await state.shared.count(store._make_key(key))
        # Any other store lives in this process: a lock makes read-and-write one step.
        async with state.lock:
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

    def _with_headers(self, send: Send, raw: list[tuple[bytes, bytes]]) -> Send:
        """`send`, adding this limit's RateLimit-* headers. A route with a limit of its own
        (login, checkout) is counted by the default limit too, and the client is told the
        limit nearest to refusing it: one set of headers, the one with fewer requests left."""
        names = {name for name, _ in raw}
        remaining_name = self._remaining_name
        mine = next(int(value) for name, value in raw if name == remaining_name)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                theirs = next(
                    (
                        int(value)
                        for name, value in headers
                        if bytes(name).lower() == remaining_name
                    ),
                    None,
                )
                if theirs is None:
                    message["headers"] = [*headers, *raw]
                elif mine < theirs:
                    kept = [pair for pair in headers if bytes(pair[0]).lower() not in names]
                    message["headers"] = [*kept, *raw]
            await send(message)

        return send_with_headers
