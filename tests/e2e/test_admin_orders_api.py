"""Staff list, ship and refund orders over HTTP."""

from __future__ import annotations

import itertools

import pytest

from shopcore import AddCartItem, Address, CartAccess, CreateCart, PlaceOrder, ShipOrder
from shopcore.customers.model import Customer
from shopcore.ordering.model import Order, OrderStatus
from shopcore.ordering.queries import get_order
from tests.support.api import Api
from tests.support.storefront import assert_problem

ORDERS = "/v1/admin/orders"
UNKNOWN = "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b"
_keys = itertools.count(1)


def key() -> str:
    return f"refund-key-{next(_keys)}"


async def placed(
    api: Api, sku: str, *, customer: Customer | None = None, token: str = "tok_visa"
) -> Order:
    """An order for one unit of `sku` (stocked by the caller), placed through the core."""
    shopper = customer or await api.customer()
    cart = (await api.shop.handle(CreateCart(customer_id=shopper.id))).cart
    await api.shop.handle(
        AddCartItem(cart_id=cart.id, access=CartAccess(customer_id=shopper.id), sku=sku, quantity=1)
    )
    order: Order = await api.shop.handle(
        PlaceOrder(
            customer_id=shopper.id,
            cart_id=cart.id,
            shipping_address=Address(
                name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="DE"
            ),
            payment_token=token,
        )
    )
    return order


async def shipped(api: Api, sku: str) -> Order:
    order = await placed(api, sku)
    done: Order = await api.shop.handle(ShipOrder(order_id=order.id))
    return done


async def stored(api: Api, order_id: str) -> Order:
    order = await get_order(api.shop.uow(), order_id, None)
    assert order is not None
    return order


async def test_staff_list_every_customers_orders_newest_first(api: Api) -> None:
    await api.product("ORD-A1", stock=5)
    first = await placed(api, "ORD-A1")
    second = await placed(api, "ORD-A1")
    staff = api.auth(await api.staff())

    page = await api.client.get(ORDERS, params={"limit": 1}, headers=staff)
    rest = await api.client.get(
        ORDERS, params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=staff
    )

    assert page.status_code == 200, page.text
    assert [o["id"] for o in page.json()["items"]] == [second.id]
    assert [o["id"] for o in rest.json()["items"]] == [first.id]
    item = page.json()["items"][0]
    assert item["customer_id"] == second.customer_id
    assert item["status"] == "confirmed"
    assert item["totals"]["total"] == {"amount": second.total.amount, "currency": "EUR"}


async def test_orders_are_filtered_by_status(api: Api) -> None:
    await api.product("ORD-B1", stock=5)
    confirmed = await placed(api, "ORD-B1")
    sent = await shipped(api, "ORD-B1")
    staff = api.auth(await api.staff())

    response = await api.client.get(ORDERS, params={"status": "shipped"}, headers=staff)

    ids = [o["id"] for o in response.json()["items"]]
    assert sent.id in ids
    assert confirmed.id not in ids
    assert {o["status"] for o in response.json()["items"]} == {"shipped"}


@pytest.mark.parametrize(
    "params", [{"status": "lost"}, {"limit": 0}, {"limit": 101}, {"cursor": "x" * 201}]
)
async def test_bad_listing_parameters_are_a_400(api: Api, params: dict[str, object]) -> None:
    response = await api.client.get(ORDERS, params=params, headers=api.auth(await api.staff()))

    assert_problem(response, 400, "invalid-request")


async def test_a_malformed_cursor_is_a_422(api: Api) -> None:
    response = await api.client.get(
        ORDERS, params={"cursor": "bm90LWFuLWlk"}, headers=api.auth(await api.staff())
    )

    assert_problem(response, 422, "invalid-input")


async def test_staff_see_one_order_with_its_payment(api: Api) -> None:
    await api.product("ORD-C1", stock=5)
    order = await placed(api, "ORD-C1")

    response = await api.client.get(f"{ORDERS}/{order.id}", headers=api.auth(await api.staff()))

    assert response.status_code == 200
    body = response.json()
    assert body["payment_id"] == order.payment_id
    assert body["refundable"] == {"amount": 0, "currency": "EUR"}  # nothing captured yet
    assert body["refunds"] == []


async def test_an_unknown_order_is_a_404(api: Api) -> None:
    response = await api.client.get(f"{ORDERS}/{UNKNOWN}", headers=api.auth(await api.staff()))

    assert_problem(response, 404, "not-found")


async def test_shipping_captures_the_payment(api: Api) -> None:
    await api.product("ORD-D1", stock=5)
    order = await placed(api, "ORD-D1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/ship", headers=api.auth(await api.staff())
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "shipped"
    assert response.json()["refundable"] == {"amount": order.total.amount, "currency": "EUR"}
    assert (await stored(api, order.id)).status is OrderStatus.SHIPPED
    assert api.gateway.captured_total == order.total.amount


async def test_shipping_twice_is_a_409(api: Api) -> None:
    await api.product("ORD-E1", stock=5)
    order = await shipped(api, "ORD-E1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/ship", headers=api.auth(await api.staff())
    )

    assert_problem(response, 409, "illegal-transition")


async def test_shipping_an_unknown_order_is_a_404(api: Api) -> None:
    response = await api.client.post(
        f"{ORDERS}/{UNKNOWN}/ship", headers=api.auth(await api.staff())
    )

    assert_problem(response, 404, "not-found")


async def test_a_partial_refund_then_the_rest(api: Api) -> None:
    await api.product("ORD-F1", stock=5)
    order = await shipped(api, "ORD-F1")
    staff = api.auth(await api.staff())
    total = order.total.amount

    part = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json={"amount": {"amount": 100, "currency": "EUR"}},
        headers={**staff, "Idempotency-Key": key()},
    )
    rest = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json={"amount": {"amount": total - 100, "currency": "EUR"}},
        headers={**staff, "Idempotency-Key": key()},
    )

    assert part.status_code == 201, part.text
    assert part.json()["status"] == "partially_refunded"
    assert part.json()["refunded"] == {"amount": 100, "currency": "EUR"}
    assert rest.status_code == 201, rest.text
    assert rest.json()["status"] == "refunded"
    assert rest.json()["refundable"]["amount"] == 0
    assert [r["completed"] for r in rest.json()["refunds"]] == [True, True]
    assert api.gateway.refunded_total == total


async def test_a_replayed_refund_refunds_once(api: Api) -> None:
    await api.product("ORD-G1", stock=5)
    order = await shipped(api, "ORD-G1")
    headers = {**api.auth(await api.staff()), "Idempotency-Key": key()}
    body = {"amount": {"amount": 100, "currency": "EUR"}}

    first = await api.client.post(f"{ORDERS}/{order.id}/refunds", json=body, headers=headers)
    second = await api.client.post(f"{ORDERS}/{order.id}/refunds", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert (await stored(api, order.id)).refunded.amount == 100
    assert api.gateway.refunded_total == 100


async def test_the_same_refund_key_with_another_amount_is_a_422(api: Api) -> None:
    await api.product("ORD-H1", stock=5)
    order = await shipped(api, "ORD-H1")
    headers = {**api.auth(await api.staff()), "Idempotency-Key": key()}
    url = f"{ORDERS}/{order.id}/refunds"
    await api.client.post(url, json={"amount": {"amount": 100, "currency": "EUR"}}, headers=headers)

    response = await api.client.post(
        url, json={"amount": {"amount": 200, "currency": "EUR"}}, headers=headers
    )

    assert_problem(response, 422, "idempotency-key-reused")
    assert (await stored(api, order.id)).refunded.amount == 100


async def test_a_refund_without_a_key_is_a_400(api: Api) -> None:
    await api.product("ORD-I1", stock=5)
    order = await shipped(api, "ORD-I1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json={"amount": {"amount": 100, "currency": "EUR"}},
        headers=api.auth(await api.staff()),
    )

    assert_problem(response, 400, "idempotency-key-required")
    assert api.gateway.refunded_total == 0


async def test_refunding_more_than_was_paid_is_a_422(api: Api) -> None:
    await api.product("ORD-J1", stock=5)
    order = await shipped(api, "ORD-J1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json={"amount": {"amount": order.total.amount + 1, "currency": "EUR"}},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 422, "invalid-input")
    assert api.gateway.refunded_total == 0


async def test_an_order_not_yet_shipped_cannot_be_refunded(api: Api) -> None:
    await api.product("ORD-K1", stock=5)
    order = await placed(api, "ORD-K1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json={"amount": {"amount": 100, "currency": "EUR"}},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 409, "illegal-transition")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": {"amount": -1, "currency": "EUR"}},
        {"amount": {"amount": 100, "currency": "eur"}},
        {"amount": 100},
        {"amount": {"amount": 100, "currency": "EUR"}, "status": "refunded"},
        {"amount": {"amount": 10**13, "currency": "EUR"}},
    ],
)
async def test_malformed_refunds_are_a_400(api: Api, body: dict[str, object]) -> None:
    await api.product("ORD-L1", stock=5)
    order = await shipped(api, "ORD-L1")

    response = await api.client.post(
        f"{ORDERS}/{order.id}/refunds",
        json=body,
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 400, "invalid-request")
    assert api.gateway.refunded_total == 0


async def test_without_a_token_order_routes_are_a_401(api: Api) -> None:
    await api.product("ORD-M1", stock=5)
    order = await placed(api, "ORD-M1")

    responses = [
        await api.client.get(ORDERS),
        await api.client.get(f"{ORDERS}/{order.id}"),
        await api.client.post(f"{ORDERS}/{order.id}/ship"),
        await api.client.post(
            f"{ORDERS}/{order.id}/refunds",
            json={"amount": {"amount": 1, "currency": "EUR"}},
            headers={"Idempotency-Key": key()},
        ),
    ]

    for response in responses:
        assert_problem(response, 401, "unauthorized")
    assert (await stored(api, order.id)).status is OrderStatus.CONFIRMED


async def test_a_customer_cannot_ship_or_refund_even_their_own_order(api: Api) -> None:
    await api.product("ORD-N1", stock=5)
    shopper = await api.customer()
    order = await placed(api, "ORD-N1", customer=shopper)
    mine = api.auth(shopper)

    responses = [
        await api.client.get(ORDERS, headers=mine),
        await api.client.get(f"{ORDERS}/{order.id}", headers=mine),
        await api.client.post(f"{ORDERS}/{order.id}/ship", headers=mine),
        await api.client.post(
            f"{ORDERS}/{order.id}/refunds",
            json={"amount": {"amount": 1, "currency": "EUR"}},
            headers={**mine, "Idempotency-Key": key()},
        ),
    ]

    for response in responses:
        assert_problem(response, 403, "forbidden")
    assert (await stored(api, order.id)).status is OrderStatus.CONFIRMED
    assert api.gateway.captured_total == 0
