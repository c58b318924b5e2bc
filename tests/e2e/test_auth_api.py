"""Logging in, refreshing and logging out over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shopcore import EnsureStaff
from shopcore.customers.model import Customer, Role
from shopcore.customers.sessions import RefreshSession, hash_refresh_token
from tests.support.api import PASSWORD, Api, api_app, test_settings
from tests.support.databases import fresh_sqlite

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://shopcore.dev/problems/{code}"
    assert body["status"] == status
    return body


async def log_in(api: Api, email: str, password: str = PASSWORD) -> httpx.Response:
    return await api.client.post("/v1/auth/token", json={"email": email, "password": password})


async def pair_for(api: Api, customer: Customer) -> dict[str, Any]:
    response = await log_in(api, customer.email)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(api: Api, token: str) -> httpx.Response:
    return await api.client.post("/v1/auth/refresh", json={"refresh_token": token})


async def session_of(api: Api, token: str) -> RefreshSession:
    async with api.shop.uow() as uow:
        session = await uow.sessions.get_by_token_hash(hash_refresh_token(token))
    assert session is not None
    return session


async def me(api: Api, access_token: str) -> httpx.Response:
    return await api.client.get(
        "/v1/customers/me", headers={"Authorization": f"Bearer {access_token}"}
    )


# -- logging in ----------------------------------------------------------------------------
async def test_the_right_credentials_get_a_token_pair(api: Api) -> None:
    customer = await api.customer("ada@example.com")

    response = await log_in(api, " ADA@example.com ")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "refresh_expires_in",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert 30 * 86400 - 60 <= body["refresh_expires_in"] <= 30 * 86400
    principal = api.services.tokens.verify(body["access_token"])
    assert (principal.customer_id, principal.role) == (customer.id, Role.CUSTOMER)
    session = await session_of(api, body["refresh_token"])
    assert session.customer_id == customer.id
    assert body["refresh_token"] not in repr(session)
    assert (await me(api, body["access_token"])).json()["id"] == customer.id


async def test_a_staff_login_gets_a_staff_token(api: Api) -> None:
    staff = await api.staff()

    body = await pair_for(api, staff)

    assert api.services.tokens.verify(body["access_token"]).role is Role.STAFF


async def test_a_wrong_password_and_an_unknown_email_get_the_same_401(api: Api) -> None:
    await api.customer("ada@example.com")

    wrong = await log_in(api, "ada@example.com", "not the passphrase at all")
    unknown = await log_in(api, "nobody@example.com")

    body = assert_problem(wrong, 401, "authentication-failed")
    assert assert_problem(unknown, 401, "authentication-failed") == body
    assert body["detail"] == "email or password is wrong"
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert "refresh_token" not in wrong.text


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com"},
        {"email": "ada@example.com", "password": PASSWORD, "grant_type": "password"},
        {"email": ["ada@example.com"], "password": PASSWORD},
        {"email": "ada@example.com", "password": "p" * 1025},
        {"email": "a" * 321, "password": PASSWORD},
    ],
    ids=["missing-password", "unknown-field", "wrong-type", "huge-password", "huge-email"],
)
async def test_a_malformed_login_is_a_400_problem(api: Api, body: dict[str, Any]) -> None:
    await api.customer("ada@example.com")

    response = await api.client.post("/v1/auth/token", json=body)

    assert_problem(response, 400, "invalid-request")


async def test_a_login_that_is_not_json_is_a_400_problem(api: Api) -> None:
    response = await api.client.post(
        "/v1/auth/token", content=b'{"email": "ada@', headers={"content-type": "application/json"}
    )

    assert_problem(response, 400, "bad-request")


async def test_an_email_with_a_nul_byte_fails_like_any_wrong_login(api: Api) -> None:
    await api.customer("ada@example.com")

    response = await log_in(api, "ada\u0000@example.com")

    assert_problem(response, 401, "authentication-failed")


# -- refreshing ----------------------------------------------------------------------------
async def test_a_refresh_rotates_the_refresh_token(api: Api) -> None:
    customer = await api.customer()
    first = await pair_for(api, customer)

    response = await refresh(api, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert api.services.tokens.verify(second["access_token"]).customer_id == customer.id
    spent = await session_of(api, first["refresh_token"])
    fresh = await session_of(api, second["refresh_token"])
    assert spent.used_at is not None
    assert fresh.family_id == spent.family_id and fresh.used_at is None
    third = await refresh(api, second["refresh_token"])
    assert third.status_code == 200


async def test_a_refresh_picks_up_a_new_role(api: Api) -> None:
    customer = await api.customer()
    pair = await pair_for(api, customer)
    await api.shop.handle(EnsureStaff(email=customer.email, password=PASSWORD))

    response = await refresh(api, pair["refresh_token"])

    assert api.services.tokens.verify(response.json()["access_token"]).role is Role.STAFF


async def test_reusing_a_spent_refresh_token_revokes_the_whole_login(api: Api) -> None:
    customer = await api.customer()
    stolen = await pair_for(api, customer)
    other_device = await pair_for(api, customer)
    rotated = (await refresh(api, stolen["refresh_token"])).json()

    replay = await refresh(api, stolen["refresh_token"])

    body = assert_problem(replay, 401, "authentication-failed")
    assert body["detail"] == "the refresh token is invalid, expired or revoked"
    assert_problem(await refresh(api, rotated["refresh_token"]), 401, "authentication-failed")
    family = await session_of(api, rotated["refresh_token"])
    assert family.revoked_at is not None
    # Another login of the same customer is a family of its own and lives on.
    assert (await refresh(api, other_device["refresh_token"])).status_code == 200
    # The leaked login's access tokens end with it, at once; the other login's do not.
    for access in (stolen["access_token"], rotated["access_token"]):
        assert_problem(await me(api, access), 401, "unauthorized")
    assert (await me(api, other_device["access_token"])).status_code == 200


@pytest.mark.parametrize("token", ["not-a-refresh-token", "x" * 200])
async def test_an_unknown_refresh_token_is_a_401_problem(api: Api, token: str) -> None:
    assert_problem(await refresh(api, token), 401, "authentication-failed")


async def test_an_expired_refresh_token_is_a_401_problem(api: Api) -> None:
    customer = await api.customer()
    long_ago = datetime.now(UTC) - timedelta(days=31)
    session, token = RefreshSession.start(
        customer_id=customer.id, now=long_ago, ttl=timedelta(days=30)
    )
    async with api.shop.uow() as uow:
        await uow.sessions.add(session)
        await uow.commit()

    assert_problem(await refresh(api, token), 401, "authentication-failed")


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": "x" * 201}, {"refresh_token": 7}],
    ids=["missing", "empty", "too-long", "wrong-type"],
)
async def test_a_malformed_refresh_is_a_400_problem(api: Api, body: dict[str, Any]) -> None:
    response = await api.client.post("/v1/auth/refresh", json=body)

    assert_problem(response, 400, "invalid-request")


# -- logging out ---------------------------------------------------------------------------
async def test_logging_out_revokes_the_refresh_token(api: Api) -> None:
    pair = await pair_for(api, await api.customer())

    response = await api.client.post(
        "/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}
    )

    assert response.status_code == 204
    assert response.content == b""
    assert (await session_of(api, pair["refresh_token"])).revoked_at is not None
    assert_problem(await refresh(api, pair["refresh_token"]), 401, "authentication-failed")


async def test_logging_out_ends_the_logins_access_tokens_at_once(api: Api) -> None:
    """They stayed valid for up to 15 minutes after a logout."""
    customer = await api.customer()
    pair = await pair_for(api, customer)
    other = await pair_for(api, customer)
    assert (await me(api, pair["access_token"])).status_code == 200

    await api.client.post("/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})

    refused = assert_problem(await me(api, pair["access_token"]), 401, "unauthorized")
    assert "ended" in refused["detail"]
    assert (await me(api, other["access_token"])).status_code == 200  # another login lives on


async def test_logging_out_is_idempotent_and_says_nothing_about_unknown_tokens(
    api: Api,
) -> None:
    pair = await pair_for(api, await api.customer())

    for token in (pair["refresh_token"], pair["refresh_token"], "never-issued"):
        response = await api.client.post("/v1/auth/logout", json={"refresh_token": token})
        assert response.status_code == 204


async def test_logging_out_with_an_unknown_field_is_a_400_problem(api: Api) -> None:
    pair = await pair_for(api, await api.customer())

    response = await api.client.post(
        "/v1/auth/logout", json={"refresh_token": pair["refresh_token"], "all": True}
    )

    assert_problem(response, 400, "invalid-request")
    assert (await session_of(api, pair["refresh_token"])).revoked_at is None


# -- rate limits ---------------------------------------------------------------------------
@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Api]:
    """An API allowing 3 auth requests a minute per address, on SQLite."""
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", auth_rate_limit_per_minute=3
    )
    app, gateway, side = api_app(settings)
    try:
        async with AsyncTestClient(app) as client:
            yield Api(client=client, app=app, gateway=gateway, shop=side.shop)
    finally:
        await side.aclose()


async def test_logins_beyond_the_auth_limit_get_a_429_with_retry_after(strict: Api) -> None:
    customer = await strict.customer()

    answers = [await log_in(strict, customer.email) for _ in range(3)]
    refused = await log_in(strict, customer.email)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert_problem(refused, 429, "rate-limited")
    assert int(refused.headers["retry-after"]) > 0


async def test_refreshes_count_against_the_same_auth_limit(strict: Api) -> None:
    customer = await strict.customer()
    pair = await pair_for(strict, customer)
    for _ in range(2):
        pair = (await refresh(strict, pair["refresh_token"])).json()

    assert_problem(await refresh(strict, pair["refresh_token"]), 429, "rate-limited")
    # The limit is for authentication only: the rest of the API still answers.
    assert (await strict.client.get("/v1/products")).status_code == 200
    assert (await me(strict, strict.token_for(customer))).status_code == 200
