"""Rate limits for answers no route gave: a 404 for an unknown path, a 405 for a method a path
does not take. Litestar answers those while routing, before any route's middleware, so the
default limit neither counted them nor sent its headers: a scanner could probe paths without
limit. Here such an answer is counted in the client's default bucket, the one its routed
requests count in, and carries the RateLimit-* headers; past the limit it becomes the 429 a
routed request would have got."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.problems import PROBLEM_JSON, TYPE_BASE, Problem
from adapters.http.throttling import FixedWindowRateLimitMiddleware

_UNROUTED = frozenset({404, 405})
_TOO_MANY = msgspec.json.encode(
    Problem(
        type=TYPE_BASE + "rate-limited",
        title="Too many requests",
        status=429,
        detail="Too Many Requests",
        code="rate-limited",
    )
)


class UnroutedLimits:
    def __init__(self, app: ASGIApp, limiter: FixedWindowRateLimitMiddleware) -> None:
        self.app = app
        self._limiter = limiter
        self._remaining = limiter.config.rate_limit_remaining_header_key.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        refused = False

        async def counted(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the app's own body of the answer replaced by the 429
            if message["type"] == "http.response.start" and message["status"] in _UNROUTED:
                headers = list(message.get("headers") or ())
                if not any(bytes(name).lower() == self._remaining for name, _ in headers):
                    refused = await self._count(scope, message, headers, send)
                    if refused:
                        return
            await send(message)

        await self.app(scope, receive, counted)

    async def _count(self, scope: Scope, message: Any, headers: list[Any], send: Send) -> bool:
        """Counts the answer; adds the limit's headers, or sends the 429 instead (True)."""
        limiter = self._limiter
        count, closes_in = await limiter.count(scope["litestar_app"], limiter.address_key(scope))
        limit_headers = limiter.raw_headers(count, closes_in)
        if count <= limiter.max_requests:
            message["headers"] = [*headers, *limit_headers]
            return False
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(_TOO_MANY)).encode()),
                    (b"retry-after", str(max(1, closes_in)).encode()),
                    *limit_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": _TOO_MANY, "more_body": False})
        return True
