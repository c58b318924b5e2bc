"""Carts over HTTP: anonymous and customer carts, their lines, ownership and merging."""

from __future__ import annotations

from typing import Any

import pytest

from shopcore import Money, UpdateProduct, Variant
from tests.support.api import Api
from tests.support.storefront import assert_problem, filled_cart

TOKEN = "X-Cart-Token"


async def anonymous_cart(api: Api) -> tuple[str, str]:
    response = await api.client.post("/v1/carts")
    assert response.status_code == 201
    body = response.json()
    return body["id"], body["cart_token"]


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


async def test_an_anonymous_cart_comes_with_its_secret_token_in_body_and_header(
    api: Api,
) -> None:
    response = await api.client.post("/v1/carts")

    assert response.status_code == 201
    body = response.json()
    assert body["cart_token"] and response.headers[TOKEN] == body["cart_token"]
    assert body["status"] == "open"
    assert body["lines"] == [] and body["item_count"] == 0
    assert body["subtotal"] == eur(0)


async def test_a_customer_gets_one_open_cart_made_once_then_found_again(api: Api) -> None:
    customer = await api.customer()

    first = await api.client.post("/v1/carts", headers=api.auth(customer))
    again = await api.client.post("/v1/carts", headers=api.auth(customer))

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert "cart_token" not in first.json() and TOKEN not in first.headers


async def test_lines_show_the_unit_price_snapshot_line_totals_and_subtotal(api: Api) -> None:
    await api.product("CART-A1", price=1250)
    await api.product("CART-A2", price=300)
    cart_id, token = await anonymous_cart(api)

    await api.client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": "CART-A1", "quantity": 2}, headers={TOKEN: token}
    )
    response = await api.client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": "CART-A2"}, headers={TOKEN: token}
    )

    assert response.status_code == 200
    body = response.json()
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("CART-A1", 2),
        ("CART-A2", 1),
    ]
    assert body["lines"][0]["unit_price"] == eur(1250)
    assert body["lines"][0]["line_total"] == eur(2500)
    assert body["subtotal"] == eur(2800) and body["item_count"] == 3
    shown = await api.client.get(f"/v1/carts/{cart_id}", headers={TOKEN: token})
    assert shown.status_code == 200 and shown.json() == body


async def test_adding_a_sku_again_adds_to_its_line(api: Api) -> None:
    await api.product("CART-B1")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CART-B1", 2), ("CART-B1", 3))

    response = await api.client.get(f"/v1/carts/{cart_id}", headers=api.auth(customer))

    assert [(line["sku"], line["quantity"]) for line in response.json()["lines"]] == [
        ("CART-B1", 5)
    ]


async def test_the_price_stays_as_added_until_the_line_changes(api: Api) -> None:
    product = await api.product("CART-C1", price=1000)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CART-C1", 1))
    await api.shop.handle(
        UpdateProduct(
            product_id=product.id, variants=(Variant(sku="CART-C1", price=Money(1500, "EUR")),)
        )
    )

    before = await api.client.get(f"/v1/carts/{cart_id}", headers=api.auth(customer))
    changed = await api.client.patch(
        f"/v1/carts/{cart_id}/items/CART-C1", json={"quantity": 2}, headers=api.auth(customer)
    )

    assert before.json()["lines"][0]["unit_price"] == eur(1000)
    assert changed.status_code == 200
    assert changed.json()["lines"][0]["unit_price"] == eur(1500)
    assert changed.json()["subtotal"] == eur(3000)


async def test_a_line_can_be_removed(api: Api) -> None:
    await api.product("CART-D1", "CART-D2")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CART-D1", 1), ("CART-D2", 1))

    response = await api.client.delete(
        f"/v1/carts/{cart_id}/items/CART-D1", headers=api.auth(customer)
    )
    again = await api.client.delete(
        f"/v1/carts/{cart_id}/items/CART-D1", headers=api.auth(customer)
    )

    assert response.status_code == 200
    assert [line["sku"] for line in response.json()["lines"]] == ["CART-D2"]
    assert_problem(again, 404, "not-found")


async def test_changing_a_sku_that_is_not_in_the_cart_is_a_404(api: Api) -> None:
    await api.product("CART-E1", "CART-E2")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CART-E1", 1))

    response = await api.client.patch(
        f"/v1/carts/{cart_id}/items/CART-E2", json={"quantity": 2}, headers=api.auth(customer)
    )

    assert_problem(response, 404, "not-found")


async def test_a_sku_the_catalog_does_not_sell_cannot_be_added(api: Api) -> None:
    cart_id, token = await anonymous_cart(api)

    response = await api.client.post(
        f"/v1/carts/{cart_id}/items",
        json={"sku": "NOT-SOLD", "quantity": 1},
        headers={TOKEN: token},
    )

    assert_problem(response, 422, "invalid-input")


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "CART-F1", "quantity": 1, "unit_price": {"amount": 1, "currency": "EUR"}},
        {"sku": "CART-F1", "quantity": 1, "price": 1},
        {"sku": "CART-F1", "quantity": 1, "line_total": {"amount": 1, "currency": "EUR"}},
        {"sku": "CART-F1", "quantity": 0},
        {"sku": "CART-F1", "quantity": 101},
        {"sku": "CART-F1", "quantity": 10**30},
        {"sku": "CART-F1", "quantity": 1.5},
        {"sku": "bad sku\u0000", "quantity": 1},
        {"quantity": 1},
        [],
    ],
)
async def test_a_malformed_item_or_one_that_sets_prices_is_refused(api: Api, body: Any) -> None:
    await api.product("CART-F1")
    cart_id, token = await anonymous_cart(api)

    response = await api.client.post(
        f"/v1/carts/{cart_id}/items", json=body, headers={TOKEN: token}
    )

    assert_problem(response, 400, "invalid-request")
    shown = await api.client.get(f"/v1/carts/{cart_id}", headers={TOKEN: token})
    assert shown.json()["lines"] == []


async def test_a_quantity_change_that_sets_totals_is_refused(api: Api) -> None:
    await api.product("CART-G1")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CART-G1", 1))

    response = await api.client.patch(
        f"/v1/carts/{cart_id}/items/CART-G1",
        json={"quantity": 2, "subtotal": {"amount": 0, "currency": "EUR"}},
        headers=api.auth(customer),
    )

    assert_problem(response, 400, "invalid-request")


async def test_malformed_json_is_a_400_problem(api: Api) -> None:
    cart_id, token = await anonymous_cart(api)

    response = await api.client.post(
        f"/v1/carts/{cart_id}/items",
        content=b'{"sku": "X", "quantity":',
        headers={TOKEN: token, "Content-Type": "application/json"},
    )

    assert_problem(response, 400, "bad-request")


async def test_an_anonymous_cart_needs_its_own_token(api: Api) -> None:
    await api.product("CART-J1")
    cart_id, _ = await anonymous_cart(api)
    _, other_token = await anonymous_cart(api)

    without = await api.client.get(f"/v1/carts/{cart_id}")
    with_another = await api.client.get(f"/v1/carts/{cart_id}", headers={TOKEN: other_token})
    adding = await api.client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": "CART-J1"}, headers={TOKEN: other_token}
    )

    # Even a SKU the catalog does not sell: ownership is checked first.
    adding_unknown = await api.client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": "NOT-SOLD"}, headers={TOKEN: other_token}
    )

    assert_problem(without, 404, "not-found")
    assert_problem(with_another, 404, "not-found")
    assert_problem(adding, 404, "not-found")
    assert_problem(adding_unknown, 404, "not-found")


async def test_another_customers_cart_is_not_found(api: Api) -> None:
    await api.product("CART-H1")
    owner, stranger = await api.customer(), await api.customer()
    cart_id = await filled_cart(api, owner, ("CART-H1", 1))
    stranger_auth = api.auth(stranger)

    responses = [
        await api.client.get(f"/v1/carts/{cart_id}", headers=stranger_auth),
        await api.client.get(f"/v1/carts/{cart_id}"),
        await api.client.post(
            f"/v1/carts/{cart_id}/items", json={"sku": "CART-H1"}, headers=stranger_auth
        ),
        await api.client.patch(
            f"/v1/carts/{cart_id}/items/CART-H1", json={"quantity": 5}, headers=stranger_auth
        ),
        await api.client.delete(f"/v1/carts/{cart_id}/items/CART-H1", headers=stranger_auth),
    ]

    for response in responses:
        assert_problem(response, 404, "not-found")
    mine = await api.client.get(f"/v1/carts/{cart_id}", headers=api.auth(owner))
    assert [(line["sku"], line["quantity"]) for line in mine.json()["lines"]] == [("CART-H1", 1)]


async def test_an_unknown_cart_is_a_404_and_a_malformed_id_a_400(api: Api) -> None:
    customer = await api.customer()

    unknown = await api.client.get(
        "/v1/carts/0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b", headers=api.auth(customer)
    )
    malformed = await api.client.get("/v1/carts/not%20an%20id", headers=api.auth(customer))

    assert_problem(unknown, 404, "not-found")
    assert_problem(malformed, 400, "invalid-request")


async def test_a_tampered_access_token_is_a_401_not_an_anonymous_call(api: Api) -> None:
    customer = await api.customer()
    token = api.token_for(customer)

    response = await api.client.post("/v1/carts", headers={"Authorization": f"Bearer {token}x"})

    assert_problem(response, 401, "unauthorized")


async def test_an_anonymous_cart_merges_into_the_customers_cart(api: Api) -> None:
    await api.product("CART-I1", "CART-I2")
    customer = await api.customer()
    mine = await filled_cart(api, customer, ("CART-I1", 1))
    cart_id, token = await anonymous_cart(api)
    for sku, quantity in (("CART-I1", 2), ("CART-I2", 1)):
        await api.client.post(
            f"/v1/carts/{cart_id}/items",
            json={"sku": sku, "quantity": quantity},
            headers={TOKEN: token},
        )

    response = await api.client.post(
        f"/v1/carts/{cart_id}/merge", headers={**api.auth(customer), TOKEN: token}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == mine
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("CART-I1", 3),
        ("CART-I2", 1),
    ]
    merged = await api.client.get(f"/v1/carts/{cart_id}", headers={TOKEN: token})
    assert merged.json()["status"] == "merged"
    closed = await api.client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": "CART-I1"}, headers={TOKEN: token}
    )
    assert_problem(closed, 409, "illegal-transition")


async def test_merging_needs_a_customer_and_the_anonymous_carts_token(api: Api) -> None:
    customer = await api.customer()
    cart_id, token = await anonymous_cart(api)
    _, other_token = await anonymous_cart(api)
    own = await api.client.post("/v1/carts", headers=api.auth(customer))

    anonymous = await api.client.post(f"/v1/carts/{cart_id}/merge", headers={TOKEN: token})
    no_token = await api.client.post(f"/v1/carts/{cart_id}/merge", headers=api.auth(customer))
    wrong_token = await api.client.post(
        f"/v1/carts/{cart_id}/merge", headers={**api.auth(customer), TOKEN: other_token}
    )
    # A customer's own cart is not an anonymous cart: nothing proves it by token.
    customer_cart = await api.client.post(
        f"/v1/carts/{own.json()['id']}/merge", headers={**api.auth(customer), TOKEN: token}
    )

    assert_problem(anonymous, 401, "unauthorized")
    assert_problem(no_token, 404, "not-found")
    assert_problem(wrong_token, 404, "not-found")
    assert_problem(customer_cart, 404, "not-found")
