"""Checkout's `Idempotency-Key` (Stripe's rules) and its own rate limit, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from shopcore.payments.ports import GatewayResponse
from shopcore.shared.money import Money
from tests.e2e.conftest import database_url
from tests.support.api import Api, api_app, test_settings
from tests.support.databases import fresh_sqlite
from tests.support.storefront import (
    assert_problem,
    available,
    checkout,
    checkout_body,
    filled_cart,
    new_key,
    orders_of,
    served,
)


async def test_checkout_needs_an_idempotency_key(api: Api) -> None:
    await api.product("CO-C1")
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-C1", 1))

    missing = await api.client.post(
        "/v1/checkout", json=checkout_body(cart_id), headers=api.auth(customer)
    )
    too_long = await checkout(api, customer, cart_id, key="k" * 256)
    invisible = await checkout(api, customer, cart_id, key="two words")

    assert_problem(missing, 400, "idempotency-key-required")
    assert too_long.status_code == 400
    assert_problem(invisible, 400, "idempotency-key-invalid")
    assert await orders_of(api, customer.id) == []


async def test_the_same_key_and_body_replays_the_order_instead_of_placing_another(
    api: Api,
) -> None:
    await api.product("CO-J1", stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-J1", 2))
    key = new_key()

    first = await checkout(api, customer, cart_id, key=key)
    second = await checkout(api, customer, cart_id, key=key)

    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert len(await orders_of(api, customer.id)) == 1
    assert await available(api, "CO-J1") == 3
    assert len(api.gateway.charges) == 1


async def test_a_replay_answers_the_order_as_it_is_now(api: Api) -> None:
    """A placed checkout's answer is its order: the record names it and keeps no copy, so a
    replay after the order shipped shows it shipped (same id, no second order or charge)."""
    await api.product("CO-J2", stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-J2", 1))
    key = new_key()
    first = await checkout(api, customer, cart_id, key=key)
    shipped = await api.client.post(
        f"/v1/admin/orders/{first.json()['id']}/ship", headers=api.auth(await api.staff())
    )
    assert shipped.status_code == 200, shipped.text

    replayed = await checkout(api, customer, cart_id, key=key)

    assert first.status_code == replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == first.json()["id"]
    assert (first.json()["status"], replayed.json()["status"]) == ("confirmed", "shipped")
    assert replayed.headers["location"] == first.headers["location"]
    assert len(await orders_of(api, customer.id)) == 1
    assert len(api.gateway.charges) == 1


async def test_the_same_key_with_another_body_is_a_422(api: Api) -> None:
    await api.product("CO-K1", stock=5)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-K1", 1))
    key = new_key()
    await checkout(api, customer, cart_id, key=key)

    response = await checkout(api, customer, cart_id, key=key, payment_token="tok_other")

    assert_problem(response, 422, "idempotency-key-reused")
    assert len(await orders_of(api, customer.id)) == 1


async def test_keys_belong_to_their_customer(api: Api) -> None:
    await api.product("CO-L1", stock=5)
    first, second = await api.customer(), await api.customer()
    key = new_key()

    one = await checkout(api, first, await filled_cart(api, first, ("CO-L1", 1)), key=key)
    two = await checkout(api, second, await filled_cart(api, second, ("CO-L1", 1)), key=key)

    assert one.status_code == two.status_code == 201
    assert "idempotent-replayed" not in two.headers
    assert one.json()["id"] != two.json()["id"]


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def racing_api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """Like `api`, but its client overlaps requests for real (see `served`)."""
    app, gateway, side = api_app(test_settings(await database_url(request, tmp_path)))
    try:
        async with served(app) as client:
            yield Api(client=client, app=app, gateway=gateway, shop=side.shop)  # type: ignore[arg-type]
    finally:
        await side.aclose()


async def test_fifty_simultaneous_checkouts_with_one_key_place_one_order(
    racing_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = racing_api
    await api.product("CO-M1", stock=10)
    customer = await api.customer()
    cart_id = await filled_cart(api, customer, ("CO-M1", 3))
    key = new_key()
    authorize = api.gateway.authorize

    async def slow_authorize(amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        # The first request is still at the gateway while the others arrive, however fast
        # the rest of a checkout is.
        await asyncio.sleep(0.3)
        return await authorize(amount, token, idempotency_key)

    monkeypatch.setattr(api.gateway, "authorize", slow_authorize)

    responses = await asyncio.gather(
        *(checkout(api, customer, cart_id, key=key) for _ in range(50))
    )

    created = [r for r in responses if r.status_code == 201]
    busy = [r for r in responses if r.status_code == 409]
    assert len(created) + len(busy) == 50, [(r.status_code, r.text) for r in responses]
    # They did overlap: some arrived while the first still ran.
    assert busy, "no request overlapped the first one"
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    assert {r.json()["id"] for r in created} == {originals[0].json()["id"]}
    for response in busy:
        assert_problem(response, 409, "idempotency-key-in-use")
        assert response.headers["retry-after"] == "1"
    [order] = await orders_of(api, customer.id)
    assert order.id == originals[0].json()["id"]
    assert await available(api, "CO-M1") == 7
    assert len(api.gateway.charges) == 1

    replayed = await checkout(api, customer, cart_id, key=key)
    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == order.id


async def test_checkout_has_its_own_tighter_rate_limit(tmp_path: Path) -> None:
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", checkout_rate_limit_per_minute=2
    )
    app, gateway, side = api_app(settings)
    try:
        async with AsyncTestClient(app) as client:
            api = Api(client=client, app=app, gateway=gateway, shop=side.shop)
            customer = await api.customer()
            statuses = [
                (await api.client.post("/v1/checkout", headers=api.auth(customer))).status_code
                for _ in range(3)
            ]
            limited = await api.client.post("/v1/checkout", headers=api.auth(customer))
            elsewhere = await api.client.get("/v1/orders", headers=api.auth(customer))
    finally:
        await side.aclose()

    assert statuses[:2] == [400, 400] and statuses[2] == 429
    assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 200
