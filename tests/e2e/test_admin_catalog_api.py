"""Staff manage the catalog over HTTP: create, change, archive; customers and strangers cannot."""

from __future__ import annotations

from typing import Any

import pytest

from shopcore.catalog.queries import price_list
from tests.support.api import Api
from tests.support.storefront import assert_problem

PRODUCTS = "/v1/admin/products"


def new_product(slug: str, *skus: str, price: int = 3900) -> dict[str, Any]:
    return {
        "name": "Linen shirt",
        "slug": slug,
        "category": "shirts",
        "description": "Breathable linen.",
        "variants": [
            {"sku": sku, "price": {"amount": price, "currency": "EUR"}, "attributes": {"size": "M"}}
            for sku in skus
        ],
    }


async def test_staff_create_a_product_and_shoppers_see_it(api: Api) -> None:
    staff = api.auth(await api.staff())

    created = await api.client.post(
        PRODUCTS, json=new_product("linen-shirt", "ADM-A1", "ADM-A2"), headers=staff
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "linen-shirt"
    assert body["status"] == "active"
    assert [v["sku"] for v in body["variants"]] == ["ADM-A1", "ADM-A2"]
    assert body["variants"][0]["price"] == {"amount": 3900, "currency": "EUR"}
    assert body["variants"][0]["attributes"] == {"size": "M"}
    assert created.headers["location"] == f"/v1/products/{body['id']}"
    shown = await api.client.get(f"/v1/products/{body['id']}")
    assert shown.status_code == 200
    assert shown.json()["name"] == "Linen shirt"


async def test_a_taken_slug_is_a_409_problem(api: Api) -> None:
    staff = api.auth(await api.staff())
    first = await api.client.post(PRODUCTS, json=new_product("taken", "ADM-B1"), headers=staff)
    assert first.status_code == 201

    again = await api.client.post(PRODUCTS, json=new_product("taken", "ADM-B2"), headers=staff)

    assert_problem(again, 409, "already-exists")


async def test_a_taken_sku_is_a_409_problem(api: Api) -> None:
    staff = api.auth(await api.staff())
    await api.product("ADM-C1")

    response = await api.client.post(
        PRODUCTS, json=new_product("fresh-slug", "ADM-C1"), headers=staff
    )

    assert_problem(response, 409, "already-exists")


@pytest.mark.parametrize(
    "field, value",
    [("id", "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"), ("status", "archived"), ("created_at", "x")],
)
async def test_a_body_that_sets_what_the_shop_decides_is_a_400(
    api: Api, field: str, value: str
) -> None:
    staff = api.auth(await api.staff())
    body = new_product("sneaky", "ADM-D1") | {field: value}

    response = await api.client.post(PRODUCTS, json=body, headers=staff)

    problem = assert_problem(response, 400, "invalid-request")
    assert f"unknown field `{field}`" in str(problem["errors"])


@pytest.mark.parametrize(
    "change",
    [
        {"slug": "Not A Slug"},
        {"variants": []},
        {"name": "x" * 201},
        {"variants": [{"sku": "bad sku!", "price": {"amount": 100, "currency": "EUR"}}]},
        {"variants": [{"sku": "ADM-E1", "price": {"amount": 1.5, "currency": "EUR"}}]},
        {"variants": [{"sku": "ADM-E1", "price": {"amount": 100, "currency": "EUR"}, "x": 1}]},
    ],
)
async def test_malformed_products_are_refused_with_a_400(api: Api, change: dict[str, Any]) -> None:
    staff = api.auth(await api.staff())

    response = await api.client.post(
        PRODUCTS, json=new_product("malformed", "ADM-E1") | change, headers=staff
    )

    assert_problem(response, 400, "invalid-request")


async def test_a_price_in_another_currency_is_a_422(api: Api) -> None:
    staff = api.auth(await api.staff())
    body = new_product("dollars", "ADM-F1")
    body["variants"][0]["price"]["currency"] = "USD"

    response = await api.client.post(PRODUCTS, json=body, headers=staff)

    assert_problem(response, 422, "invalid-input")


async def test_staff_change_the_name_and_prices(api: Api) -> None:
    staff = api.auth(await api.staff())
    product = await api.product("ADM-G1", price=1000)

    response = await api.client.patch(
        f"{PRODUCTS}/{product.id}",
        json={
            "name": "Renamed",
            "variants": [{"sku": "ADM-G1", "price": {"amount": 800, "currency": "EUR"}}],
        },
        headers=staff,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["slug"] == product.slug  # left out: unchanged
    assert body["variants"][0]["price"] == {"amount": 800, "currency": "EUR"}
    shown = (await api.client.get(f"/v1/products/{product.id}")).json()
    assert shown["variants"][0]["price"]["amount"] == 800


async def test_a_patch_cannot_set_the_status(api: Api) -> None:
    staff = api.auth(await api.staff())
    product = await api.product("ADM-H1")

    response = await api.client.patch(
        f"{PRODUCTS}/{product.id}", json={"status": "archived"}, headers=staff
    )

    assert_problem(response, 400, "invalid-request")


async def test_changing_to_a_taken_slug_is_a_409(api: Api) -> None:
    staff = api.auth(await api.staff())
    first = await api.product("ADM-I1")
    second = await api.product("ADM-I2")

    response = await api.client.patch(
        f"{PRODUCTS}/{second.id}", json={"slug": first.slug}, headers=staff
    )

    assert_problem(response, 409, "already-exists")


async def test_changing_an_unknown_product_is_a_404(api: Api) -> None:
    staff = api.auth(await api.staff())

    response = await api.client.patch(
        f"{PRODUCTS}/0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b", json={"name": "x"}, headers=staff
    )

    assert_problem(response, 404, "not-found")


async def test_a_malformed_product_id_is_a_400(api: Api) -> None:
    staff = api.auth(await api.staff())

    response = await api.client.patch(f"{PRODUCTS}/not%00an-id", json={}, headers=staff)

    assert_problem(response, 400, "invalid-request")


async def test_archiving_hides_the_product_and_may_be_repeated(api: Api) -> None:
    staff = api.auth(await api.staff())
    product = await api.product("ADM-J1")

    first = await api.client.delete(f"{PRODUCTS}/{product.id}", headers=staff)
    again = await api.client.delete(f"{PRODUCTS}/{product.id}", headers=staff)

    assert first.status_code == 204
    assert first.content == b""
    assert again.status_code == 204
    assert (await api.client.get(f"/v1/products/{product.id}")).status_code == 404
    prices = await price_list(api.shop.uow(), ["ADM-J1"])
    assert prices["ADM-J1"].sellable is False  # archived, not deleted


async def test_an_archived_product_cannot_be_changed(api: Api) -> None:
    staff = api.auth(await api.staff())
    product = await api.product("ADM-K1")
    await api.client.delete(f"{PRODUCTS}/{product.id}", headers=staff)

    response = await api.client.patch(
        f"{PRODUCTS}/{product.id}", json={"name": "Back"}, headers=staff
    )

    assert_problem(response, 409, "illegal-transition")


async def test_archiving_an_unknown_product_is_a_404(api: Api) -> None:
    staff = api.auth(await api.staff())

    response = await api.client.delete(
        f"{PRODUCTS}/0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b", headers=staff
    )

    assert_problem(response, 404, "not-found")


async def test_without_a_token_the_catalog_routes_are_a_401(api: Api) -> None:
    product = await api.product("ADM-L1")

    responses = [
        await api.client.post(PRODUCTS, json=new_product("anon", "ADM-L2")),
        await api.client.patch(f"{PRODUCTS}/{product.id}", json={"name": "x"}),
        await api.client.delete(f"{PRODUCTS}/{product.id}"),
    ]

    for response in responses:
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_customers_token_on_the_catalog_routes_is_a_403(api: Api) -> None:
    customer = api.auth(await api.customer())
    product = await api.product("ADM-M1")

    responses = [
        await api.client.post(PRODUCTS, json=new_product("mine", "ADM-M2"), headers=customer),
        await api.client.patch(f"{PRODUCTS}/{product.id}", json={"name": "x"}, headers=customer),
        await api.client.delete(f"{PRODUCTS}/{product.id}", headers=customer),
    ]

    for response in responses:
        assert_problem(response, 403, "forbidden")
    assert (await api.client.get(f"/v1/products/{product.id}")).json()["name"] == product.name


async def test_a_tampered_token_is_a_401(api: Api) -> None:
    token = api.token_for(await api.staff())
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = await api.client.post(
        PRODUCTS,
        json=new_product("tampered", "ADM-N1"),
        headers={"Authorization": f"Bearer {tampered}"},
    )

    assert_problem(response, 401, "unauthorized")
