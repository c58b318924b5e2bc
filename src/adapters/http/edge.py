"""The outermost ASGI layer of the API: what every HTTP response gets, whichever part of the
app answered it.

Security headers were added by a Litestar middleware, which runs only inside a matched route:
a 404 for an unknown path, a 405 and a 429 (raised by the rate limiter, answered by the app's
own exception handler outside the route's middleware) went out without them. Here they are
added around Litestar's whole handler (`install`), so every HTTP response carries them, and as
a plain ASGI callable with the header pairs encoded once: this runs on every response, the
cheapest included.

It also refuses a NUL character in a URL's path or query, and in a request body (raw, or as
JSON's `\\u0000`), with a 400 problem: no id, slug, SKU or text a shop keeps contains one, and
PostgreSQL can neither store nor compare one (a product page with `%00` for its id answered
500), while SQLite would have kept it: refused here, it is refused the same on every database.
A URL is refused before routing; a body as the route reads it.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.problems import PROBLEM_JSON, TYPE_BASE, Problem

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}

# Sent unless the response set its own (a cached catalog read says `no-cache`).
_DEFAULTS = tuple(
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in {**SECURITY_HEADERS, "Cache-Control": "no-store"}.items()
)
_NAMES = frozenset(name for name, _ in _DEFAULTS)
_NUL_REFUSED = msgspec.json.encode(
    Problem(
        type=TYPE_BASE + "bad-request",
        title="Bad request",
        status=400,
        detail="the URL contains a NUL character",
        code="bad-request",
    )
)


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

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = _NAMES.intersection([bytes(name).lower() for name, _ in headers])
                headers += [p for p in _DEFAULTS if p[0] not in present] if present else _DEFAULTS
                message["headers"] = headers
            await send(message)

        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _refuse(send_with_headers, _NUL_REFUSED)
            return
        await self.app(scope, _without_nul(receive), send_with_headers)


def _without_nul(receive: Receive) -> Receive:
    """`receive`, raising a 400 when the body holds a NUL: a raw one (never valid JSON), or
    JSON's escape for one. A chunk is checked with the end of the one before, so an escape
    split across two chunks is seen too."""
    tail = b""

    async def checked() -> Message:
        nonlocal tail
        message = await receive()
        chunk = message.get("body", b"") if message["type"] == "http.request" else b""
        if chunk:
            window = tail + chunk
            if (b"\x00" in window or b"\\u0000" in window) and _has_nul(window):
                raise ClientException("the request body contains a NUL character")
            tail = window[-_TAIL:]
        return message

    return checked


# Enough of the last chunk to hold an escape and the backslashes before it.
_TAIL = 64


def _has_nul(window: bytes) -> bool:
    """A raw NUL, or `\\u0000` that is an escape: after an even number of backslashes (an
    odd one, as in `\\\\u0000`, is a backslash and the text `u0000`)."""
    if b"\x00" in window:
        return True
    start = window.find(b"\\u0000")
    while start != -1:
        backslashes = len(window[:start]) - len(window[:start].rstrip(b"\\"))
        if backslashes % 2 == 0:
            return True
        start = window.find(b"\\u0000", start + 1)
    return False


async def _refuse(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode("latin-1")),
                (b"content-length", str(len(body)).encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install(app: Litestar, *inner: Callable[[ASGIApp], ASGIApp]) -> Litestar:
    """Wraps the app's whole HTTP handling (routing, CORS and the exception handlers
    included) in the edge layer, with the `inner` layers (outermost first) between the
    security headers and Litestar."""
    handler = app.asgi_handler
    for layer in reversed(inner):
        handler = layer(handler)
    app.asgi_handler = SecurityHeaders(handler)
    return app
