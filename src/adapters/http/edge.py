"""The outermost ASGI layer of the API: what every HTTP response gets, whichever part of the
app answered it: the security headers, and the request's id (machinery/request_ids.py), which
the log lines written while the request is handled carry too.

Security headers were added by a Litestar middleware, which runs only inside a matched route:
a 404 for an unknown path, a 405 and a 429 (raised by the rate limiter, answered by the app's
own exception handler outside the route's middleware) went out without them. Here they are
added around Litestar's whole handler (`install`), so every HTTP response carries them, and as
a plain ASGI callable with the header pairs encoded once: this runs on every response, the
cheapest included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from adapters.http.docs_ui import API_CSP, DOCS_CSP
from adapters.machinery import request_ids

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def _pairs(csp: str) -> tuple[tuple[bytes, bytes], ...]:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": csp, "Cache-Control": "no-store"}
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    )


# Sent unless the response set its own (a cached catalog read says `no-cache`). The API's
# answers are data, never pages: their policy allows nothing; the docs page's allows its own
# origin's scripts (docs_ui.py).
_DEFAULTS = _pairs(API_CSP)
_DOCS_DEFAULTS = _pairs(DOCS_CSP)
_NAMES = frozenset(name for name, _ in _DEFAULTS)


class SecurityHeaders:
    """Adds the security headers (and `Cache-Control: no-store` by default) to every HTTP
    response the wrapped app starts."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        defaults = _DOCS_DEFAULTS if scope["path"].startswith("/docs") else _DEFAULTS
        request_id = request_ids.of(scope["headers"])
        token = request_ids.current.set(request_id)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = _NAMES.intersection([bytes(name).lower() for name, _ in headers])
                headers += [p for p in defaults if p[0] not in present] if present else defaults
                headers.append((request_ids.HEADER, request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            request_ids.current.reset(token)


def install(
    app: Litestar,
    *inner: Callable[[ASGIApp], ASGIApp],
    trusted_proxies: tuple[str, ...] = (),
    outermost: Callable[[ASGIApp], ASGIApp] | None = None,
) -> Litestar:
    """Wraps the app's whole HTTP handling (routing, CORS and the exception handlers
    included) in the edge layer, with the `inner` layers (outermost first) between the
    security headers and Litestar. With `trusted_proxies`, outermost of all, the client's
    address and scheme come from their forwarded headers, so that everything inside (the rate
    limits, the metrics' loopback rule, the logs) sees the real client; any other peer's
    forwarded headers are ignored. `outermost` wraps everything else, inside that."""
    handler = app.asgi_handler
    for layer in reversed(inner):
        handler = layer(handler)
    handler = SecurityHeaders(handler)
    if outermost is not None:  # tracing: a span around all the rest, with the real client
        handler = outermost(handler)
    if trusted_proxies:
        # uvicorn types its ASGI callables with its own names for Litestar's same shapes.
        forwarded: Any = ProxyHeadersMiddleware(handler, trusted_hosts=list(trusted_proxies))  # type: ignore[arg-type]
        handler = forwarded
    app.asgi_handler = handler
    return app
