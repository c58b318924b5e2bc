"""Checking what `shopcore create-staff` made: log in through the real app (argon2 and all)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from apps.api import build_app
from apps.components import Components
from shopcore.customers.model import Customer
from shopcore.customers.queries import get_customer
from tests.support.api import test_settings

PASSWORD = "staff-only passphrase"


async def log_in(database_url: str, email: str, password: str) -> tuple[int, str | None]:
    """The status of a login, and the role /v1/customers/me reports after it."""
    app = build_app(Components(test_settings(database_url)))
    async with AsyncTestClient(app) as client:
        login = await client.post("/v1/auth/token", json={"email": email, "password": password})
        if login.status_code != 200:
            return login.status_code, None
        token = login.json()["access_token"]
        me = await client.get("/v1/customers/me", headers={"Authorization": f"Bearer {token}"})
        return login.status_code, me.json()["role"]


def staff_id(output: str) -> str:
    # "staff account boss@example.com is ready (id <uuid>)"
    return output.rsplit("(id ", 1)[1].rstrip(")\n")


async def stored(database_url: str, customer_id: str) -> Customer | None:
    async with Components(test_settings(database_url)) as components:
        return await get_customer(components.shop.uow(), customer_id)
