"""Behind a load balancer every peer is the balancer: the client is read from X-Forwarded-For,
but only when the peer is one of SHOPCORE_TRUSTED_PROXIES. Then the rate limit counts per real
client and /metrics' loopback rule cannot be met from outside through a local proxy; any other
peer's forwarded headers change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import sqlite_url
from tests.support.api import api_app, test_settings

PROXY = "10.1.2.3"


@asynccontextmanager
async def behind(tmp_path: Path, peer: str, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API as seen from `peer`, with 2 requests a minute per client."""
    settings = test_settings(await sqlite_url(tmp_path), rate_limit_per_minute=2, **changes)
    app, _, side = api_app(settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            yield client
    finally:
        await side.aclose()


async def statuses(client: httpx.AsyncClient, forwarded_for: str, count: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for}
    return [(await client.get("/v1/products", headers=headers)).status_code for _ in range(count)]


async def test_a_trusted_proxy_gives_each_forwarded_client_its_own_limit(tmp_path: Path) -> None:
    async with behind(tmp_path, PROXY, trusted_proxies=("10.0.0.0/8",)) as client:
        first = await statuses(client, "203.0.113.7", 3)
        second = await statuses(client, "198.51.100.9", 2)
        # A client cannot pose as another by adding addresses on the left: the proxy
        # appended the one it saw, the rightmost one not trusted.
        forged = await statuses(client, "198.51.100.9, 203.0.113.7", 1)

    assert first == [200, 200, 429]
    assert second == [200, 200]
    assert forged == [429]


async def test_forwarded_headers_from_any_other_peer_are_ignored(tmp_path: Path) -> None:
    async with behind(tmp_path, "192.0.2.50", trusted_proxies=("10.0.0.0/8",)) as client:
        spread = [
            *(await statuses(client, "203.0.113.7", 1)),
            *(await statuses(client, "198.51.100.9", 1)),
            *(await statuses(client, "192.0.2.77", 1)),
        ]

    assert spread == [200, 200, 429]  # one peer, one limit, whatever it claims


async def test_without_trusted_proxies_no_forwarded_header_is_believed(tmp_path: Path) -> None:
    async with behind(tmp_path, PROXY) as client:
        spread = [
            *(await statuses(client, "203.0.113.7", 1)),
            *(await statuses(client, "198.51.100.9", 2)),
        ]

    assert spread == [200, 200, 429]


async def test_the_metrics_loopback_rule_sees_the_client_behind_a_local_proxy(
    tmp_path: Path,
) -> None:
    trusted = {"trusted_proxies": ("127.0.0.1",), "metrics_token": None}
    async with behind(tmp_path, "127.0.0.1", **trusted) as client:
        local = await client.get("/metrics")
        outside = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})

    assert local.status_code == 200
    assert outside.status_code == 401
