"""A customer's orders over HTTP: listing, detail and cancelling."""

from __future__ import annotations

from shopcore import ShipOrder
from shopcore.ordering.queries import get_order
from tests.support.api import Api
from tests.support.storefront import assert_problem, available, bought

UNKNOWN_ID = "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"


async def test_my_orders_are_listed_newest_first_in_keyset_pages(api: Api) -> None:
    await api.product("ORD-A1", stock=10)
    customer, other = await api.customer(), await api.customer()
    first = await bought(api, customer, "ORD-A1")
    second = await bought(api, customer, "ORD-A1", quantity=2)
    await bought(api, other, "ORD-A1")

    page = await api.client.get("/v1/orders", params={"limit": 1}, headers=api.auth(customer))
    body = page.json()
    rest = await api.client.get(
        "/v1/orders",
        params={"limit": 1, "cursor": body["next_cursor"]},
        headers=api.auth(customer),
    )

    assert page.status_code == 200
    assert [order["id"] for order in body["items"]] == [second["id"]]
    assert body["items"][0] == second
    assert [order["id"] for order in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None


async def test_a_customer_without_orders_gets_an_empty_page(api: Api) -> None:
    response = await api.client.get("/v1/orders", headers=api.auth(await api.customer()))

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_orders_need_an_access_token(api: Api) -> None:
    listing = await api.client.get("/v1/orders")
    detail = await api.client.get(f"/v1/orders/{UNKNOWN_ID}")
    cancel = await api.client.post(f"/v1/orders/{UNKNOWN_ID}/cancel")
    expired = await api.client.get("/v1/orders", headers={"Authorization": "Bearer not.a.token"})

    for response in (listing, detail, cancel, expired):
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_oversized_pages_and_forged_cursors_are_refused(api: Api) -> None:
    customer = await api.customer()

    oversized = await api.client.get(
        "/v1/orders", params={"limit": 101}, headers=api.auth(customer)
    )
    forged = await api.client.get(
        "/v1/orders", params={"cursor": "bm90LWFuLWlk"}, headers=api.auth(customer)
    )

    assert_problem(oversized, 400, "invalid-request")
    assert_problem(forged, 422, "invalid-input")


async def test_one_of_my_orders_in_detail(api: Api) -> None:
    await api.product("ORD-B1", price=700, stock=3)
    customer = await api.customer()
    order = await bought(api, customer, "ORD-B1", quantity=3)

    response = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth(customer))

    assert response.status_code == 200
    assert response.json() == order
    assert [change["to_status"] for change in order["history"]] == [
        "pending_payment",
        "confirmed",
    ]
    assert order["lines"][0]["line_total"] == {"amount": 2100, "currency": "EUR"}


async def test_another_customers_order_is_not_found(api: Api) -> None:
    await api.product("ORD-C1", stock=3)
    owner, stranger = await api.customer(), await api.customer()
    order = await bought(api, owner, "ORD-C1")

    detail = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth(stranger))
    cancel = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=api.auth(stranger))
    listing = await api.client.get("/v1/orders", headers=api.auth(stranger))

    assert_problem(detail, 404, "not-found")
    assert_problem(cancel, 404, "not-found")
    assert listing.json()["items"] == []
    still = await get_order(api.shop.uow(), order["id"], owner.id)
    assert still is not None and str(still.status) == "confirmed"


async def test_unknown_and_malformed_order_ids(api: Api) -> None:
    customer = await api.customer()

    unknown = await api.client.get(f"/v1/orders/{UNKNOWN_ID}", headers=api.auth(customer))
    malformed = await api.client.get("/v1/orders/%00", headers=api.auth(customer))

    assert_problem(unknown, 404, "not-found")
    assert_problem(malformed, 400, "invalid-request")


async def test_cancelling_before_shipping_gives_the_stock_and_the_money_back(api: Api) -> None:
    await api.product("ORD-D1", stock=4)
    customer = await api.customer()
    order = await bought(api, customer, "ORD-D1", quantity=3)
    assert await available(api, "ORD-D1") == 1

    response = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=api.auth(customer))
    again = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=api.auth(customer))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert await available(api, "ORD-D1") == 4
    [charge] = api.gateway.charges.values()
    assert charge.voided
    assert_problem(again, 409, "illegal-transition")


async def test_a_shipped_order_cannot_be_cancelled(api: Api) -> None:
    await api.product("ORD-E1", stock=4)
    customer = await api.customer()
    order = await bought(api, customer, "ORD-E1")
    await api.shop.handle(ShipOrder(order_id=order["id"]))

    response = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=api.auth(customer))

    assert_problem(response, 409, "illegal-transition")
    shipped = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth(customer))
    assert shipped.json()["status"] == "shipped"


async def test_a_cancel_with_an_idempotency_key_replays_its_first_answer(api: Api) -> None:
    await api.product("ORD-F1", stock=4)
    customer = await api.customer()
    order = await bought(api, customer, "ORD-F1")
    headers = {**api.auth(customer), "Idempotency-Key": "cancel-once"}

    first = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
    second = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)

    assert first.status_code == second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert await available(api, "ORD-F1") == 4
