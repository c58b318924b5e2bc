"""A cached read's answer goes out exactly as Litestar's own `Response` would send it: same
status, headers (names, values, order) and body, for the 200 and for the 304."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Response
from litestar.enums import MediaType

from adapters.http.caching import conditional
from adapters.machinery.cached_reads import Cached, etag_of

BODY = b'{"items":[],"next_cursor":null}'
CACHED = Cached(BODY, etag_of(BODY))


async def _messages(asgi: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi({"type": "http", "method": "GET"}, receive, send)
    return sent


def _litestar(not_modified: bool) -> Response[bytes]:
    headers = {"ETag": CACHED.etag, "Cache-Control": "no-cache"}
    if not_modified:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=BODY, media_type=MediaType.JSON, headers=headers)


# What Litestar's response handler passes for a GET route without headers or cookies.
ROUTE = {"cookies": [], "headers": {}, "media_type": "application/json", "status_code": 200}


@pytest.mark.parametrize(("if_none_match", "status"), [(None, 200), (CACHED.etag, 304)])
async def test_a_cached_read_is_sent_as_litestar_sends_it(
    if_none_match: str | None, status: int
) -> None:
    ours = await _messages(conditional(CACHED, if_none_match).to_asgi_response(None, None, **ROUTE))
    theirs = await _messages(
        _litestar(status == 304).to_asgi_response(None, None, **ROUTE)  # type: ignore[arg-type]
    )

    assert ours[0]["status"] == status
    assert [(m["type"], m.get("status"), list(m.get("headers", ()))) for m in ours] == [
        (m["type"], m.get("status"), list(m.get("headers", ()))) for m in theirs
    ]
    assert [m.get("body") for m in ours] == [m.get("body") for m in theirs]


async def test_headers_a_route_adds_are_kept() -> None:
    asgi = conditional(CACHED, None).to_asgi_response(
        None, None, **{**ROUTE, "headers": {"X-Route": "yes"}}
    )

    headers = dict((await _messages(asgi))[0]["headers"])

    assert headers[b"x-route"] == b"yes"
    assert headers[b"etag"] == CACHED.etag.encode()
