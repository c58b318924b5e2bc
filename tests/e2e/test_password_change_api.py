"""Changing the password over HTTP: the current one is proven, the new one follows the
registration's rules, and every login of the account ends at once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.test_auth_api import assert_problem, log_in, me, pair_for, refresh, session_of
from tests.support.api import PASSWORD, Api

NEW_PASSWORD = "a brand new passphrase"


async def change(
    api: Api, pair: dict[str, Any], current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await api.client.post(
        "/v1/customers/me/password",
        json={"current_password": current, "new_password": new},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )


async def test_the_new_password_logs_in_and_the_old_one_no_longer_does(api: Api) -> None:
    customer = await api.customer()
    pair = await pair_for(api, customer)

    response = await change(api, pair)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert (await log_in(api, customer.email, NEW_PASSWORD)).status_code == 200
    assert_problem(await log_in(api, customer.email), 401, "authentication-failed")


async def test_every_login_of_the_account_ends_and_no_one_elses(api: Api) -> None:
    customer = await api.customer()
    pair = await pair_for(api, customer)
    other_device = await pair_for(api, customer)
    rotated = (await refresh(api, other_device["refresh_token"])).json()
    someone_else = await pair_for(api, await api.customer())

    assert (await change(api, pair)).status_code == 204

    for ended in (pair, rotated):
        refused = assert_problem(await me(api, ended["access_token"]), 401, "unauthorized")
        assert "ended" in refused["detail"]
        assert_problem(await refresh(api, ended["refresh_token"]), 401, "authentication-failed")
        assert (await session_of(api, ended["refresh_token"])).revoked_at is not None
    assert (await me(api, someone_else["access_token"])).status_code == 200
    fresh = await pair_for_password(api, customer.email, NEW_PASSWORD)
    assert (await me(api, fresh["access_token"])).status_code == 200


async def pair_for_password(api: Api, email: str, password: str) -> dict[str, Any]:
    response = await log_in(api, email, password)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_wrong_current_password_is_a_403_and_changes_nothing(api: Api) -> None:
    customer = await api.customer()
    pair = await pair_for(api, customer)

    response = await change(api, pair, current="not the passphrase at all")

    assert_problem(response, 403, "wrong-password")
    assert (await me(api, pair["access_token"])).status_code == 200
    assert (await log_in(api, customer.email)).status_code == 200
    assert_problem(await log_in(api, customer.email, NEW_PASSWORD), 401, "authentication-failed")


async def test_a_weak_new_password_is_a_422_and_changes_nothing(api: Api) -> None:
    customer = await api.customer()
    pair = await pair_for(api, customer)

    for weak in ("short", customer.email + " is mine"):
        assert_problem(await change(api, pair, new=weak), 422, "weak-password")

    assert (await me(api, pair["access_token"])).status_code == 200
    assert (await log_in(api, customer.email)).status_code == 200


async def test_changing_the_password_needs_an_access_token(api: Api) -> None:
    response = await api.client.post(
        "/v1/customers/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert_problem(response, 401, "unauthorized")


async def test_a_malformed_change_is_a_400_problem(api: Api) -> None:
    pair = await pair_for(api, await api.customer())

    for body in (
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "staff"},
    ):
        response = await api.client.post(
            "/v1/customers/me/password",
            json=body,
            headers={"Authorization": f"Bearer {pair['access_token']}"},
        )
        assert_problem(response, 400, "invalid-request")
