"""Staff receive and adjust stock over HTTP, each change once per `Idempotency-Key`."""

from __future__ import annotations

import itertools

import pytest

from shopcore import AddCartItem, Address, CartAccess, CreateCart, PlaceOrder
from shopcore.inventory.queries import availability, movements
from tests.support.api import Api
from tests.support.storefront import assert_problem

_keys = itertools.count(1)


def key() -> str:
    return f"stock-key-{next(_keys)}"


def adjust_url(sku: str) -> str:
    return f"/v1/admin/inventory/{sku}/adjustments"


def receipt_url(sku: str) -> str:
    return f"/v1/admin/inventory/{sku}/receipts"


async def available(api: Api, sku: str) -> int:
    levels = await availability(api.shop.ports.stock_views, [sku], api.shop.ports.clock.now())
    return levels[sku]


async def test_an_adjustment_changes_stock_on_hand_and_keeps_the_reason(api: Api) -> None:
    await api.product("STK-A1", stock=10)
    staff = api.auth(await api.staff())

    response = await api.client.post(
        adjust_url("STK-A1"),
        json={"delta": -3, "reason": "damaged in the warehouse"},
        headers={**staff, "Idempotency-Key": key()},
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "sku": "STK-A1",
        "on_hand": 7,
        "reserved": 0,
        "allocated": 0,
        "available": 7,
    }
    ledger = await movements(api.shop.uow(), "STK-A1")
    assert [(m.delta, m.reason) for m in ledger][-1] == (-3, "damaged in the warehouse")


async def test_a_receipt_adds_stock(api: Api) -> None:
    await api.product("STK-B1", stock=0)
    staff = api.auth(await api.staff())

    response = await api.client.post(
        receipt_url("STK-B1"), json={"quantity": 24}, headers={**staff, "Idempotency-Key": key()}
    )

    assert response.status_code == 201, response.text
    assert response.json()["on_hand"] == 24
    assert await available(api, "STK-B1") == 24


async def test_a_replayed_adjustment_is_applied_once(api: Api) -> None:
    await api.product("STK-C1", stock=10)
    headers = {**api.auth(await api.staff()), "Idempotency-Key": key()}
    body = {"delta": 5, "reason": "recount"}

    first = await api.client.post(adjust_url("STK-C1"), json=body, headers=headers)
    second = await api.client.post(adjust_url("STK-C1"), json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await available(api, "STK-C1") == 15


async def test_the_same_key_with_another_body_is_a_422(api: Api) -> None:
    await api.product("STK-D1", stock=10)
    headers = {**api.auth(await api.staff()), "Idempotency-Key": key()}
    await api.client.post(
        adjust_url("STK-D1"), json={"delta": 5, "reason": "recount"}, headers=headers
    )

    response = await api.client.post(
        adjust_url("STK-D1"), json={"delta": 6, "reason": "recount"}, headers=headers
    )

    assert_problem(response, 422, "idempotency-key-reused")
    assert await available(api, "STK-D1") == 15


async def test_keys_belong_to_the_staff_member(api: Api) -> None:
    await api.product("STK-E1", stock=10)
    shared = key()
    body = {"delta": 1, "reason": "found one"}

    for _ in range(2):
        staff = {**api.auth(await api.staff()), "Idempotency-Key": shared}
        response = await api.client.post(adjust_url("STK-E1"), json=body, headers=staff)
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers

    assert await available(api, "STK-E1") == 12


async def test_an_adjustment_without_a_key_is_a_400_and_changes_nothing(api: Api) -> None:
    await api.product("STK-F1", stock=10)

    response = await api.client.post(
        adjust_url("STK-F1"),
        json={"delta": -1, "reason": "lost"},
        headers=api.auth(await api.staff()),
    )

    assert_problem(response, 400, "idempotency-key-required")
    assert await available(api, "STK-F1") == 10


async def test_a_receipt_without_a_key_is_a_400(api: Api) -> None:
    await api.product("STK-F2", stock=0)

    response = await api.client.post(
        receipt_url("STK-F2"), json={"quantity": 1}, headers=api.auth(await api.staff())
    )

    assert_problem(response, 400, "idempotency-key-required")


async def test_a_key_with_invisible_characters_is_a_400(api: Api) -> None:
    await api.product("STK-F3", stock=10)

    response = await api.client.post(
        adjust_url("STK-F3"),
        json={"delta": -1, "reason": "lost"},
        headers={**api.auth(await api.staff()), "Idempotency-Key": "has space"},
    )

    assert_problem(response, 400, "idempotency-key-invalid")


async def test_stock_promised_to_an_order_cannot_be_adjusted_away(api: Api) -> None:
    await api.product("STK-G1", stock=3)
    shopper = await api.customer()
    cart = (await api.shop.handle(CreateCart(customer_id=shopper.id))).cart
    await api.shop.handle(
        AddCartItem(
            cart_id=cart.id, access=CartAccess(customer_id=shopper.id), sku="STK-G1", quantity=2
        )
    )
    await api.shop.handle(
        PlaceOrder(
            customer_id=shopper.id,
            cart_id=cart.id,
            shipping_address=Address(
                name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="DE"
            ),
            payment_token="tok_visa",
        )
    )

    response = await api.client.post(
        adjust_url("STK-G1"),
        json={"delta": -2, "reason": "count"},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 409, "insufficient-stock")
    assert await available(api, "STK-G1") == 1


async def test_a_zero_delta_is_a_422(api: Api) -> None:
    await api.product("STK-H1", stock=3)

    response = await api.client.post(
        adjust_url("STK-H1"),
        json={"delta": 0, "reason": "nothing"},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 422, "invalid-input")


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 10**7, "reason": "huge"},
        {"delta": 1},
        {"delta": 1, "reason": ""},
        {"delta": 1.5, "reason": "a fraction"},
        {"delta": 1, "reason": "count", "location": "elsewhere"},
        {"delta": 1, "reason": "count", "on_hand": 1000},
    ],
)
async def test_malformed_adjustments_are_a_400(api: Api, body: dict[str, object]) -> None:
    await api.product("STK-I1", stock=3)

    response = await api.client.post(
        adjust_url("STK-I1"),
        json=body,
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 400, "invalid-request")
    assert await available(api, "STK-I1") == 3


async def test_a_sku_not_in_the_catalog_is_a_404(api: Api) -> None:
    response = await api.client.post(
        adjust_url("NO-SUCH-SKU"),
        json={"delta": 1, "reason": "typo"},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 404, "not-found")
    assert await available(api, "NO-SUCH-SKU") == 0


async def test_a_malformed_sku_is_a_400(api: Api) -> None:
    response = await api.client.post(
        adjust_url("bad%00sku"),
        json={"delta": 1, "reason": "typo"},
        headers={**api.auth(await api.staff()), "Idempotency-Key": key()},
    )

    assert_problem(response, 400, "invalid-request")


async def test_staff_read_a_skus_stock(api: Api) -> None:
    await api.product("STK-J1", stock=4)

    response = await api.client.get(
        "/v1/admin/inventory/STK-J1", headers=api.auth(await api.staff())
    )

    assert response.status_code == 200
    assert response.json()["available"] == 4


async def test_without_a_token_stock_routes_are_a_401_and_change_nothing(api: Api) -> None:
    await api.product("STK-K1", stock=5)

    responses = [
        await api.client.get("/v1/admin/inventory/STK-K1"),
        await api.client.post(
            adjust_url("STK-K1"),
            json={"delta": 1, "reason": "x"},
            headers={"Idempotency-Key": key()},
        ),
        await api.client.post(
            receipt_url("STK-K1"), json={"quantity": 1}, headers={"Idempotency-Key": key()}
        ),
    ]

    for response in responses:
        assert_problem(response, 401, "unauthorized")
    assert await available(api, "STK-K1") == 5


async def test_a_customers_token_on_stock_routes_is_a_403(api: Api) -> None:
    await api.product("STK-L1", stock=5)
    customer = api.auth(await api.customer())

    responses = [
        await api.client.get("/v1/admin/inventory/STK-L1", headers=customer),
        await api.client.post(
            adjust_url("STK-L1"),
            json={"delta": 100, "reason": "free stock"},
            headers={**customer, "Idempotency-Key": key()},
        ),
        await api.client.post(
            receipt_url("STK-L1"),
            json={"quantity": 100},
            headers={**customer, "Idempotency-Key": key()},
        ),
    ]

    for response in responses:
        assert_problem(response, 403, "forbidden")
    assert await available(api, "STK-L1") == 5
