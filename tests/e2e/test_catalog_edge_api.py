"""Cached catalog reads answered before routing (adapters/http/catalog_edge.py) are answered
exactly as Litestar answers them: `/v1/products?limit=20` reads the same cache entry as
`/v1/products` but always goes through Litestar (the edge takes no query string), so the two
must agree byte for byte, header for header; and they share the rate limit and the metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from adapters.http.catalog_edge import CatalogEdge
from shopcore.shared.errors import Busy
from tests.support.api import SCRAPER, Api

# Differ between any two requests: the limiter counts each, and each gets an id of its own.
COUNTED = {"ratelimit-remaining", "ratelimit-reset", "x-request-id"}


@contextmanager
def edge_loads(
    api: Api, loader: Callable[[str], Callable[[], Awaitable[Any]]] | None = None
) -> Iterator[list[str]]:
    """The products the edge loads while the block runs (by `loader` instead, when given)."""
    edge = api.app.asgi_handler.app  # type: ignore[attr-defined]
    assert isinstance(edge, CatalogEdge)
    original = edge._detail
    assert original is not None
    loads: list[str] = []

    def spy(product_id: str) -> Callable[[], Awaitable[Any]]:
        loads.append(product_id)
        return (loader or original)(product_id)

    edge._detail = spy
    try:
        yield loads
    finally:
        edge._detail = original


def answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in COUNTED]
    return response.status_code, headers, response.content


async def both(api: Api, path: str, full: str, **kwargs: Any) -> None:
    await api.client.get(full)  # fills the cache
    edge = await api.client.get(path, **kwargs)
    litestar = await api.client.get(full, **kwargs)
    assert answer(edge) == answer(litestar)


async def test_the_listing_at_the_edge_is_litestars(api: Api) -> None:
    await api.product("EDGE-L1")
    listing = await api.client.get("/v1/products?limit=20")
    etag = listing.headers["etag"]

    await both(api, "/v1/products", "/v1/products?limit=20")
    for if_none_match in (etag, f'W/{etag}, "other"', "*", '"other"', ""):
        await both(
            api, "/v1/products", "/v1/products?limit=20", headers={"If-None-Match": if_none_match}
        )


async def test_a_product_at_the_edge_is_litestars(api: Api) -> None:
    product = await api.product("EDGE-D1")
    first = await api.client.get(f"/v1/products/{product.id}")  # through Litestar: a miss
    again = await api.client.get(f"/v1/products/{product.id}")  # a hit, at the edge
    not_modified = await api.client.get(
        f"/v1/products/{product.id}", headers={"If-None-Match": first.headers["etag"]}
    )

    assert answer(again) == answer(first)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert not_modified.headers["x-frame-options"] == "DENY"


async def test_a_product_loaded_at_the_edge_is_litestars(api: Api) -> None:
    """Not cached yet: loaded at the edge (through the cache) and answered as Litestar answers
    the same product (a query string sends a request through Litestar)."""
    product = await api.product("EDGE-D2")

    with edge_loads(api) as loads:
        loaded = await api.client.get(f"/v1/products/{product.id}")  # a miss
        litestar = await api.client.get(f"/v1/products/{product.id}?via=litestar")
        by_slug = await api.client.get(f"/v1/products/{product.slug}")
        by_slug_litestar = await api.client.get(f"/v1/products/{product.slug}?via=litestar")

    assert loads == [product.id, product.slug]
    assert loaded.status_code == 200
    assert loaded.json()["id"] == product.id
    assert answer(loaded) == answer(litestar)
    assert answer(by_slug) == answer(by_slug_litestar)


@pytest.mark.parametrize("product_id", ["no-such-product", "01890000-0000-7000-8000-000000000000"])
async def test_a_product_the_edge_does_not_find_is_litestars_404_counted_once(
    api: Api, product_id: str
) -> None:
    with edge_loads(api) as loads:
        edge = await api.client.get(f"/v1/products/{product_id}")
        litestar = await api.client.get(f"/v1/products/{product_id}?via=litestar")
        after = await api.client.get(f"/v1/products/{product_id}")

    assert loads == [product_id, product_id]
    assert edge.status_code == 404
    assert edge.headers["content-type"].startswith("application/problem+json")
    assert answer(edge) == answer(litestar)
    # One count per request, whichever layer answered.
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (edge, litestar, after)]
    assert remaining == [remaining[0], remaining[0] - 1, remaining[0] - 2]


async def test_a_load_that_fails_at_the_edge_goes_on_to_litestar_counted_once(api: Api) -> None:
    """A fault while loading at the edge (the database, say): Litestar reads again and answers
    as it would have, the request counted once."""
    product = await api.product("EDGE-D3")

    def failing(product_id: str) -> Callable[[], Awaitable[Any]]:
        async def load() -> Any:
            raise Busy("no database connection came free in time; retry later")

        return load

    before = await api.client.get("/v1/products/no-such-product")
    with edge_loads(api, failing) as loads:
        response = await api.client.get(f"/v1/products/{product.id}")

    assert loads == [product.id]
    assert response.status_code == 200 and response.json()["id"] == product.id
    remaining = int(before.headers["ratelimit-remaining"])
    assert int(response.headers["ratelimit-remaining"]) == remaining - 1


async def test_an_id_the_route_refuses_is_not_loaded_at_the_edge(api: Api) -> None:
    with edge_loads(api) as loads:
        response = await api.client.get("/v1/products/not_a_slug!")

    assert loads == []
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_if_none_match_too_long_is_refused_even_when_cached(api: Api) -> None:
    await api.client.get("/v1/products")
    response = await api.client.get("/v1/products", headers={"If-None-Match": "x" * 2001})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/v1/products", "/v1/products?limit=20"])
async def test_reads_at_the_edge_count_in_the_metrics(api: Api, path: str) -> None:
    await api.client.get("/v1/products?limit=20")

    def count(text: str) -> float:
        for line in text.splitlines():
            if (
                line.startswith("shopcore_requests_total{")
                and 'path="/v1/products"' in line
                and 'status_code="200"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count((await api.client.get("/metrics", headers=SCRAPER)).text)
    for _ in range(3):
        assert (await api.client.get(path)).status_code == 200
    after = count((await api.client.get("/metrics", headers=SCRAPER)).text)

    assert after - before == 3


def test_the_edge_path_is_on_only_while_litestar_adds_nothing_to_the_catalog(api: Api) -> None:
    from adapters.http.catalog_edge import CatalogEdge, answers_like_litestar
    from adapters.http.edge import SecurityHeaders

    handler = api.app.asgi_handler
    assert isinstance(handler, SecurityHeaders)
    assert isinstance(handler.app, CatalogEdge)
    # A guard on the catalog (or any hook, header, cookie or middleware) would turn it off.
    assert not answers_like_litestar(api.app, [])
