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

from adapters.machinery.cached_reads import Cached

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=2_000,
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
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache"}
    if matches(if_none_match, cached.etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=cached.body, media_type=MediaType.JSON, headers=headers)
