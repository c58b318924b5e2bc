"""Tighter rate limits on single routes (`middleware=[limited("auth")]`), on top of the default.

The limits are built with the app from its configuration (`app.state["limits"]`, see
`app.rate_limits`), after the controllers are defined, so a route names its bucket and the
limiter is looked up on the first request the route sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.middleware.rate_limit import RateLimitConfig
from litestar.types import ASGIApp, Receive, Scope, Send


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
