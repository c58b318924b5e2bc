"""Catalog reads through the cache, over HTTP (the embedded mode: the cache in the API process,
dropped by the process's own bus): ETags, 304s, the bytes the uncached handler would send, and
fresh answers after a price change and after a stock change."""

from __future__ import annotations

import itertools

import msgspec
from litestar.testing import AsyncTestClient

from adapters.http.schemas.catalog import ProductOut, ProductPage
from adapters.machinery.cached_reads import UncachedReads
from shopcore.customers.model import Customer
from tests.support.api import Api, api_app, test_settings
from tests.support.storefront import bought

_keys = itertools.count(1)


def variant_field(response_json: dict[str, object], field: str) -> object:
    variants = response_json["variants"]
    assert isinstance(variants, list)
    return variants[0][field]


async def receive(api: Api, staff: Customer, sku: str, quantity: int) -> None:
    response = await api.client.post(
        f"/v1/admin/inventory/{sku}/receipts",
        json={"quantity": quantity},
        headers={**api.auth(staff), "Idempotency-Key": f"cache-receipt-{next(_keys)}"},
    )
    assert response.status_code == 201, response.text


async def reprice(api: Api, staff: Customer, product_id: str, sku: str, amount: int) -> None:
    response = await api.client.patch(
        f"/v1/admin/products/{product_id}",
        json={"variants": [{"sku": sku, "price": {"amount": amount, "currency": "EUR"}}]},
        headers=api.auth(staff),
    )
    assert response.status_code == 200, response.text


async def test_catalog_reads_carry_an_etag_and_ask_to_be_revalidated(api: Api) -> None:
    product = await api.product("ETAG-A1")

    for path in ("/v1/products", f"/v1/products/{product.id}", f"/v1/products/{product.slug}"):
        response = await api.client.get(path)
        assert response.status_code == 200
        assert response.headers["etag"].startswith('"')
        assert response.headers["cache-control"] == "no-cache"


async def test_if_none_match_with_the_current_etag_is_a_304_without_a_body(api: Api) -> None:
    product = await api.product("ETAG-B1")
    path = f"/v1/products/{product.slug}"
    etag = (await api.client.get(path)).headers["etag"]

    answers = {
        header: await api.client.get(path, headers={"If-None-Match": header})
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*", '"stale"')
    }

    assert {header: r.status_code for header, r in answers.items()} == {
        etag: 304,
        f"W/{etag}": 304,
        f'"other", {etag}': 304,
        "*": 304,
        '"stale"': 200,
    }
    not_modified = answers[etag]
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert "content-type" not in not_modified.headers
    assert answers['"stale"'].headers["etag"] == etag


async def test_a_listing_304s_while_unchanged(api: Api) -> None:
    await api.product("ETAG-C1")
    first = await api.client.get("/v1/products", params={"limit": 5})

    again = await api.client.get(
        "/v1/products", params={"limit": 5}, headers={"If-None-Match": first.headers["etag"]}
    )
    other_page = await api.client.get(
        "/v1/products",
        params={"limit": 5, "category": "hats"},
        headers={"If-None-Match": first.headers["etag"]},
    )

    assert again.status_code == 304
    assert other_page.status_code == 200


async def test_cached_bodies_are_the_bytes_the_uncached_handler_sends(api: Api) -> None:
    product = await api.product("ETAG-D1", "ETAG-D2", stock=4)
    uncached_app, _, side = api_app(test_settings(api.database_url, catalog_cache_seconds=0))
    await side.aclose()
    assert isinstance(uncached_app.state["services"].catalog_reads, UncachedReads)

    miss = await api.client.get(f"/v1/products/{product.id}")
    hit = await api.client.get(f"/v1/products/{product.id}")
    listing = await api.client.get("/v1/products")
    async with AsyncTestClient(uncached_app) as plain:
        uncached = await plain.get(f"/v1/products/{product.id}")
        uncached_listing = await plain.get("/v1/products")

    expected = ProductOut.of(product, {"ETAG-D1": 4, "ETAG-D2": 4})
    assert miss.content == hit.content == uncached.content == msgspec.json.encode(expected)
    assert listing.content == uncached_listing.content
    assert msgspec.json.decode(listing.content, type=ProductPage).items[0].id == product.id
    assert miss.headers["etag"] == hit.headers["etag"] == uncached.headers["etag"]
    assert miss.headers["content-type"] == "application/json"


async def test_a_price_change_shows_at_once_in_the_detail_and_the_listing(api: Api) -> None:
    staff = await api.staff()
    product = await api.product("ETAG-E1", price=1000)
    before = await api.client.get(f"/v1/products/{product.slug}")
    listed = await api.client.get("/v1/products")

    await reprice(api, staff, product.id, "ETAG-E1", 1250)
    after = await api.client.get(
        f"/v1/products/{product.slug}", headers={"If-None-Match": before.headers["etag"]}
    )
    relisted = await api.client.get("/v1/products")

    assert after.status_code == 200
    assert variant_field(after.json(), "price") == {"amount": 1250, "currency": "EUR"}
    assert after.headers["etag"] != before.headers["etag"]
    assert relisted.json()["items"][0]["variants"][0]["price"]["amount"] == 1250
    assert relisted.headers["etag"] != listed.headers["etag"]


async def test_a_stock_change_shows_at_once_in_the_detail_but_keeps_the_listing(
    api: Api,
) -> None:
    staff = await api.staff()
    product = await api.product("ETAG-F1", stock=2)
    before = await api.client.get(f"/v1/products/{product.id}")
    listed = await api.client.get("/v1/products")

    await receive(api, staff, "ETAG-F1", 5)
    after = await api.client.get(f"/v1/products/{product.id}")
    relisted = await api.client.get(
        "/v1/products", headers={"If-None-Match": listed.headers["etag"]}
    )

    assert variant_field(before.json(), "available") == 2
    assert variant_field(after.json(), "available") == 7
    assert relisted.status_code == 304  # listings show no stock


async def test_a_checkout_reservation_shows_in_the_detail(api: Api) -> None:
    product = await api.product("ETAG-G1", stock=5)
    await api.client.get(f"/v1/products/{product.id}")

    await bought(api, await api.customer(), "ETAG-G1", quantity=2)
    after = await api.client.get(f"/v1/products/{product.id}")

    assert variant_field(after.json(), "available") == 3


async def test_an_unknown_product_is_not_cached_as_found(api: Api) -> None:
    staff = await api.staff()
    missing = await api.client.get("/v1/products/late-arrival")
    response = await api.client.post(
        "/v1/admin/products",
        json={
            "name": "Late arrival",
            "slug": "late-arrival",
            "category": "shirts",
            "variants": [{"sku": "ETAG-H1", "price": {"amount": 900, "currency": "EUR"}}],
        },
        headers=api.auth(staff),
    )
    assert response.status_code == 201, response.text

    found = await api.client.get("/v1/products/late-arrival")

    assert missing.status_code == 404
    assert "etag" not in missing.headers
    assert found.status_code == 200
