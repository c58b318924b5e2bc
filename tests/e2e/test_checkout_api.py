"""Checkout over HTTP: orders, payment failures, stock shortfalls and who may check out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api
from tests.support.storefront import (
    ADDRESS,
    assert_problem,
    available,
    cart_status,
    checkout,
    checkout_body,
    filled_cart,
    new_key,
    orders_of,
)


async def test_checkout_turns_the_cart_into_a_confirmed_order(api: Api) -> None:
    await api.product("CO-A1", price=1200, stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-A1", 2))

    response = await checkout(api, customer, cart_id)

    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["location"] == f"/v1/orders/{order['id']}"
    assert "idempotent-replayed" not in response.headers
    assert order["status"] == "confirmed"
    assert order["cart_id"] == cart_id
    assert order["lines"] == [
        {
            "sku": "CO-A1",
            "name": order["lines"][0]["name"],
            "quantity": 2,
            "unit_price": {"amount": 1200, "currency": "EUR"},
            "line_total": {"amount": 2400, "currency": "EUR"},
        }
    ]
    assert order["totals"]["subtotal"] == {"amount": 2400, "currency": "EUR"}
    assert order["totals"]["total"]["currency"] == "EUR"
    assert order["shipping_address"] == {**ADDRESS, "line2": ""}
    assert await available(api, "CO-A1") == 3
    assert await cart_status(api, cart_id, customer.id) == "checked_out"
    [stored] = await orders_of(api, customer.id)
    assert stored.id == order["id"] and stored.total.amount == order["totals"]["total"]["amount"]


async def test_checkout_needs_an_access_token(api: Api) -> None:
    await api.product("CO-B1")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-B1", 1))

    response = await api.client.post(
        "/v1/checkout", json=checkout_body(cart_id), headers={"Idempotency-Key": new_key()}
    )

    assert_problem(response, 401, "unauthorized")
    assert await orders_of(api, customer.id) == []


async def test_another_customers_cart_or_an_anonymous_cart_cannot_be_checked_out(
    api: Api,
) -> None:
    await api.product("CO-D1", stock=5)
    owner, stranger = await api.customer(), await api.customer()
    cart_id = await filled_cart(api, owner, ("CO-D1", 1))
    anonymous = (await api.client.post("/v1/carts")).json()["id"]

    theirs = await checkout(api, stranger, cart_id)
    nobodys = await checkout(api, stranger, anonymous)

    assert_problem(theirs, 404, "not-found")
    assert_problem(nobodys, 404, "not-found")
    assert await available(api, "CO-D1") == 5
    assert await cart_status(api, cart_id, owner.id) == "open"


async def test_an_empty_cart_cannot_be_checked_out(api: Api) -> None:
    customer = await api.customer()
    cart_id = await filled_cart(api, customer)

    response = await checkout(api, customer, cart_id)

    assert_problem(response, 422, "empty-cart")


@pytest.mark.parametrize(
    "change",
    [
        {"status": "confirmed"},
        {"totals": {"total": {"amount": 1, "currency": "EUR"}}},
        {"price": 1},
        {"customer_id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"},
        {"shipping_address": {**ADDRESS, "country": "gb"}},
        {"shipping_address": {**ADDRESS, "country": "GBR"}},
        {"shipping_address": {**ADDRESS, "name": "x" * 201}},
        {"shipping_address": {**ADDRESS, "vip": True}},
        {"shipping_address": {key: v for key, v in ADDRESS.items() if key != "city"}},
        {"payment_token": ""},
        {"payment_token": "tok visa"},
        {"cart_id": "../../etc/passwd"},
    ],
)
async def test_a_body_that_sets_what_the_shop_decides_or_is_malformed_is_refused(
    api: Api, change: dict[str, Any]
) -> None:
    await api.product("CO-E1", stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-E1", 1))

    response = await api.client.post(
        "/v1/checkout",
        json={**checkout_body(cart_id), **change},
        headers={**api.auth(customer), "Idempotency-Key": new_key()},
    )

    assert_problem(response, 400, "invalid-request")
    assert await orders_of(api, customer.id) == []
    assert await available(api, "CO-E1") == 5


async def test_an_address_the_shop_rejects_is_a_422(api: Api) -> None:
    await api.product("CO-F1", stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-F1", 1))
    body = checkout_body(cart_id)
    body["shipping_address"] = {**ADDRESS, "country": "XX", "name": "Ada\u0007"}

    response = await api.client.post(
        "/v1/checkout", json=body, headers={**api.auth(customer), "Idempotency-Key": new_key()}
    )

    assert_problem(response, 422, "invalid-input")
    assert await cart_status(api, cart_id, customer.id) == "open"


async def test_short_stock_is_a_409_naming_the_short_skus(api: Api) -> None:
    await api.product("CO-G1", stock=1)
    await api.product("CO-G2", stock=10)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-G1", 2), ("CO-G2", 1))

    response = await checkout(api, customer, cart_id)

    body = assert_problem(response, 409, "out-of-stock")
    assert body["skus"] == ["CO-G1"]
    assert await available(api, "CO-G1") == 1
    assert await available(api, "CO-G2") == 10
    assert await cart_status(api, cart_id, customer.id) == "open"


async def test_a_declined_card_is_a_402_and_gives_stock_and_cart_back(api: Api) -> None:
    await api.product("CO-H1", stock=3)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-H1", 1))
    key = new_key()

    response = await checkout(api, customer, cart_id, key=key, payment_token="tok_decline")
    replayed = await checkout(api, customer, cart_id, key=key, payment_token="tok_decline")

    assert_problem(response, 402, "payment-declined")
    assert replayed.status_code == 402 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == response.json()
    assert await available(api, "CO-H1") == 3
    assert await cart_status(api, cart_id, customer.id) == "open"
    [failed] = await orders_of(api, customer.id)
    assert str(failed.status) == "payment_failed"


async def test_a_gateway_outage_is_a_503_that_may_be_retried_with_the_same_key(
    api: Api,
) -> None:
    await api.product("CO-I1", stock=3)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-I1", 1))
    key = new_key()

    outage = await checkout(api, customer, cart_id, key=key, payment_token="tok_error")

    assert_problem(outage, 503, "payment-gateway-unavailable")
    assert int(outage.headers["retry-after"]) >= 1
    assert await available(api, "CO-I1") == 3
    assert await cart_status(api, cart_id, customer.id) == "open"

    retried = await checkout(api, customer, cart_id, key=key, payment_token="tok_visa")

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert await available(api, "CO-I1") == 2
