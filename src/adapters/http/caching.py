"""Conditional GET for cached catalog reads: `ETag` on every answer, 304 for `If-None-Match`.

The body is sent as the cache holds it, byte for byte what the uncached handler would have
encoded. `Cache-Control: no-cache` lets browsers and proxies keep the body but makes them ask
again each time (with `If-None-Match`), so a change shows at once and an unchanged page costs
no body.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.machinery.cached_reads import Cached

IF_NONE_MATCH_MAX = 2_000

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=IF_NONE_MATCH_MAX,
        description="ETags of copies the client holds: if one is current, the answer is 304",
    ),
]

NOT_MODIFIED = ResponseSpec(
    None, description="Not modified: the copy with the `If-None-Match` ETag is current"
)


def encode(content: Any) -> bytes:
    """JSON exactly as Litestar renders a handler's return value."""
    return encode_json(content)


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of `If-None-Match` against the current ETag."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    current = _opaque(etag)
    return any(_opaque(candidate) == current for candidate in if_none_match.split(","))


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def conditional(cached: Cached, if_none_match: str | None) -> Response[bytes]:
    return Conditional(cached, not_modified=matches(if_none_match, cached.etag))


class Conditional(Response[bytes]):
    """The answer to a cached read, sent as Litestar would send
    `Response(content=body, media_type=JSON, headers={ETag, Cache-Control})` (or the 304
    without a body), with its header pairs built directly: Litestar's `Response` and the
    `ASGIResponse` it turns into build and look up a header map per request, which cost
    more than the rest of a cached read's handler.

    A route that adds headers, cookies or a background task of its own gets Litestar's own
    response (`to_asgi_response`), so nothing a route declares is lost."""

    __slots__ = ("_etag", "_not_modified")

    def __init__(self, cached: Cached, *, not_modified: bool) -> None:
        # What Litestar's `Response` holds, for anything that looks (an after-request hook).
        self.content = b"" if not_modified else cached.body
        self.status_code = 304 if not_modified else 200
        self.media_type = None if not_modified else MediaType.JSON
        self.headers = {}
        self.cookies = []
        self.background = None
        self.encoding = "utf-8"
        self.response_type_encoders = {}
        self._etag = cached.etag
        self._not_modified = not_modified

    def _litestar(self) -> Response[bytes]:
        headers = {**self.headers, "ETag": self._etag, "Cache-Control": "no-cache"}
        response = Response(
            content=self.content,
            status_code=self.status_code,
            media_type=self.media_type,
            headers=headers,
            cookies=self.cookies,
            background=self.background,
        )
        return response

    def to_asgi_response(  # type: ignore[override]
        self, app: Any, request: Any, **kwargs: Any
    ) -> ASGIApp:
        own = self.headers or self.cookies or self.background
        if own or app is not None or any(kwargs.get(name) for name in _OWN):
            return self._litestar().to_asgi_response(app, request, **kwargs)
        return _Send(*sent(self._etag, self.content, not_modified=self._not_modified))


def sent(
    etag: str, body: bytes, *, not_modified: bool
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, header pairs and body of a cached read's answer, as Litestar sends them."""
    headers = [(b"etag", etag.encode("latin-1")), _NO_CACHE]
    if not_modified:
        return 304, headers, b""
    headers += [_JSON, (b"content-length", str(len(body)).encode())]
    return 200, headers, body


# What a route may add to its responses, which `Conditional` leaves to Litestar.
_OWN = ("background", "cookies", "encoded_headers", "headers", "is_head_response")
_NO_CACHE = (b"cache-control", b"no-cache")
_JSON = (b"content-type", MediaType.JSON.value.encode())


class _Send:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
