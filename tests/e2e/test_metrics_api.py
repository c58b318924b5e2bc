"""Prometheus metrics over HTTP, labelled by route template."""

from __future__ import annotations

from tests.support.api import Api


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    product = await api.product("MET-A1")
    await api.client.get(f"/v1/products/{product.id}")

    response = await api.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "shopcore_requests_total{" in text
    assert 'path="/v1/products/{product_id}"' in text
    assert "shopcore_request_duration_seconds_bucket{" in text
    # Grouped by template: ids in paths never become label values.
    assert product.id not in text


async def test_metrics_do_not_count_themselves(api: Api) -> None:
    await api.client.get("/metrics")

    response = await api.client.get("/metrics")

    assert 'path="/metrics"' not in response.text


async def test_failed_requests_are_counted_with_their_status(api: Api) -> None:
    await api.client.get("/v1/admin/orders")  # no token: 401

    text = (await api.client.get("/metrics")).text

    assert any(
        'path="/v1/admin/orders"' in line and 'status_code="401"' in line
        for line in text.splitlines()
        if line.startswith("shopcore_requests_total{")
    )


async def test_metrics_are_not_rate_limited_or_cached(api: Api) -> None:
    response = await api.client.get("/metrics")

    assert response.headers.get("cache-control") == "no-store"
    assert "ratelimit-limit" not in {name.lower() for name in response.headers}
