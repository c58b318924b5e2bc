"""Prometheus metrics over HTTP, labelled by route template."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import sqlite_url
from tests.support.api import SCRAPER, Api, api_app, test_settings
from tests.support.sse import served


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    product = await api.product("MET-A1")
    await api.client.get(f"/v1/products/{product.id}")

    response = await api.client.get("/metrics", headers=SCRAPER)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "shopcore_requests_total{" in text
    assert 'path="/v1/products/{product_id}"' in text
    assert "shopcore_request_duration_seconds_bucket{" in text
    # Grouped by template: ids in paths never become label values.
    assert product.id not in text


async def test_metrics_do_not_count_themselves(api: Api) -> None:
    await api.client.get("/metrics", headers=SCRAPER)

    response = await api.client.get("/metrics", headers=SCRAPER)

    assert 'path="/metrics"' not in response.text


async def test_failed_requests_are_counted_with_their_status(api: Api) -> None:
    await api.client.get("/v1/admin/orders")  # no token: 401

    text = (await api.client.get("/metrics", headers=SCRAPER)).text

    assert any(
        'path="/v1/admin/orders"' in line and 'status_code="401"' in line
        for line in text.splitlines()
        if line.startswith("shopcore_requests_total{")
    )


async def test_metrics_are_not_rate_limited_or_cached(api: Api) -> None:
    response = await api.client.get("/metrics", headers=SCRAPER)

    assert response.headers.get("cache-control") == "no-store"
    assert "ratelimit-limit" not in {name.lower() for name in response.headers}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-the-metrics-token"}, {"Authorization": "Basic eDp5"}],
    ids=["none", "wrong", "basic"],
)
async def test_metrics_need_the_scrapers_token(api: Api, headers: dict[str, str]) -> None:
    """They were public: anyone could read the shop's traffic by route and status."""
    response = await api.client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "shopcore_requests_total" not in response.text


async def test_without_a_token_only_this_host_is_answered(tmp_path: Path) -> None:
    settings = test_settings(await sqlite_url(tmp_path), metrics_token=None)
    # One app per client: each runs the app's lifespan on an event loop of its own.
    app, _, side = api_app(settings)
    other, _, other_side = api_app(settings)
    try:
        async with served(app) as base, httpx.AsyncClient(base_url=base) as local:
            response = await local.get("/metrics")  # from 127.0.0.1
        async with AsyncTestClient(other) as remote:  # a client that is not on this host
            refused = await remote.get("/metrics")
    finally:
        await side.aclose()
        await other_side.aclose()

    assert response.status_code == 200
    assert "# TYPE" in response.text
    assert refused.status_code == 401
