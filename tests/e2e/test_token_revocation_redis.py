"""With Redis, a logout on one API process ends the login's access tokens on every process:
those running (they follow the revocations channel) and those that start later (they read the
kept list when they subscribe)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from apps.settings import Settings
from tests.support.api import PASSWORD, api_app, test_settings
from tests.support.databases import fresh_sqlite
from tests.support.redis import require_redis, unique_prefix
from tests.support.waiting import until

pytestmark = pytest.mark.redis


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[Settings]:
    redis_url = require_redis()
    prefix = unique_prefix()
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    yield test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", redis_url=redis_url, redis_namespace=prefix
    )
    client = Redis.from_url(redis_url)
    keys = [
        key
        for pattern in (f"{prefix}*", f"{{{prefix}*")  # and hash-tagged keys
        async for key in client.scan_iter(match=pattern, count=500)
    ]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def instance(settings: Settings) -> Litestar:
    app, _, side = api_app(settings)
    app.on_shutdown.append(side.aclose)
    return app


def following(app: Litestar) -> bool:
    return bool(app.state["services"].tokens.revocations.following)


async def me(client: AsyncTestClient[Litestar], pair: dict[str, Any]) -> httpx.Response:
    return await client.get(
        "/v1/customers/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )


async def registered(client: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    """A new account's credentials, as a login sends them."""
    login = {"email": email, "password": PASSWORD}
    answer = await client.post("/v1/customers", json=login)
    assert answer.status_code == 201, answer.text
    return login


async def test_a_logout_on_one_process_ends_the_access_tokens_on_every_process(
    shared: Settings,
) -> None:
    first, second = instance(shared), instance(shared)
    async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
        await until(lambda: following(first) and following(second))
        login = await registered(a, "revoked@example.com")
        pair = (await a.post("/v1/auth/token", json=login)).json()
        kept = (await a.post("/v1/auth/token", json=login)).json()  # another login
        assert (await me(b, pair)).status_code == 200

        await a.post("/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})

        assert (await me(a, pair)).status_code == 401  # at once where it happened
        await until(lambda: second.state["services"].tokens.revocations.revoked(_sid(pair)))
        assert (await me(b, pair)).status_code == 401
        assert (await me(b, kept)).status_code == 200

        later = instance(shared)  # started after the logout: reads the kept list
        async with AsyncTestClient(later) as c:
            await until(lambda: following(later))
            assert (await me(c, pair)).status_code == 401
            assert (await me(c, kept)).status_code == 200


async def test_a_password_change_on_one_process_ends_every_login_on_every_process(
    shared: Settings,
) -> None:
    first, second = instance(shared), instance(shared)
    async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
        await until(lambda: following(first) and following(second))
        login = await registered(a, "changed@example.com")
        pair = (await a.post("/v1/auth/token", json=login)).json()
        elsewhere = (await b.post("/v1/auth/token", json=login)).json()

        changed = await a.post(
            "/v1/customers/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
            headers={"Authorization": f"Bearer {pair['access_token']}"},
        )

        assert changed.status_code == 204, changed.text
        revoked = second.state["services"].tokens.revocations.revoked
        await until(lambda: revoked(_sid(pair)) and revoked(_sid(elsewhere)))
        for client in (a, b):
            assert (await me(client, pair)).status_code == 401
            assert (await me(client, elsewhere)).status_code == 401


def _sid(pair: dict[str, Any]) -> str:
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    return str(claims["sid"])
