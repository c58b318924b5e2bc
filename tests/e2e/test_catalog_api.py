"""The storefront catalog over HTTP."""

from __future__ import annotations

from tests.support.api import Api


async def test_products_are_listed_newest_first_in_keyset_pages(api: Api) -> None:
    first = await api.product("E2E-A1")
    second = await api.product("E2E-B1")

    page = await api.client.get("/v1/products", params={"limit": 1})
    assert page.status_code == 200
    body = page.json()
    assert [item["id"] for item in body["items"]] == [second.id]
    assert body["items"][0]["variants"][0]["price"] == {"amount": 1000, "currency": "EUR"}

    rest = await api.client.get("/v1/products", params={"limit": 1, "cursor": body["next_cursor"]})
    assert [item["id"] for item in rest.json()["items"]] == [first.id]


async def test_a_product_shows_each_variants_availability(api: Api) -> None:
    product = await api.product("E2E-C1", "E2E-C2", stock=7)

    response = await api.client.get(f"/v1/products/{product.slug}")

    assert response.status_code == 200
    assert {v["sku"]: v["available"] for v in response.json()["variants"]} == {
        "E2E-C1": 7,
        "E2E-C2": 7,
    }


async def test_an_unknown_product_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/products/no-such-thing")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/not-found")


async def test_an_oversized_page_is_refused_with_a_problem(api: Api) -> None:
    response = await api.client.get("/v1/products", params={"limit": 1000})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
