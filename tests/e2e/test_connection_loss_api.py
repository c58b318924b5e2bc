"""An operator drops every database connection while shoppers use the API: each answer is a
success or a 503 with Retry-After, never a 500 (a fault run once got 26 of them).

The app runs over a PostgreSQL database of its own, since the operator terminates every
backend of the database it works on (tests/support/terminations.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from tests.support.api import Api, api_app, test_settings
from tests.support.terminations import Operator, private_postgres

pytestmark = pytest.mark.postgres

TOKEN = "X-Cart-Token"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    with private_postgres() as url:
        app, gateway, side = api_app(test_settings(url))
        try:
            async with AsyncTestClient(app) as client:
                yield Api(client=client, app=app, gateway=gateway, shop=side.shop, database_url=url)
        finally:
            await side.aclose()


def acceptable(response: Response) -> bool:
    if response.status_code == 503:
        return bool(response.headers.get("Retry-After"))
    return response.is_success


async def test_requests_while_every_connection_is_dropped_succeed_or_answer_503(api: Api) -> None:
    await api.product("DROP-1", stock=1000)
    operator = Operator(api.database_url)
    answers: list[Response] = []
    until = time.monotonic() + 1.5

    async with operator.terminating(every=0.03):
        while time.monotonic() < until:
            created = await api.client.post("/v1/carts")
            answers.append(created)
            if created.status_code != 201:
                continue
            cart, token = created.json()["id"], {TOKEN: created.json()["cart_token"]}
            answers.append(
                await api.client.post(
                    f"/v1/carts/{cart}/items", json={"sku": "DROP-1"}, headers=token
                )
            )
            answers.append(await api.client.get(f"/v1/carts/{cart}", headers=token))
            answers.append(await api.client.get("/v1/products"))

    assert operator.terminated > 0
    wrong = [
        (answer.request.method, answer.request.url.path, answer.status_code, answer.text)
        for answer in answers
        if not acceptable(answer)
    ]
    assert wrong == []
    assert any(answer.is_success for answer in answers)
