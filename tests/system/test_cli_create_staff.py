"""`shopcore create-staff`: run as an operator would, then used to log in through the API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from apps.api import build_app
from apps.containers import ShopContainer
from shopcore import RegisterCustomer
from shopcore.customers.model import Customer, Role
from shopcore.customers.queries import get_customer
from tests.support.api import test_settings
from tests.support.databases import empty_postgres

PASSWORD = "staff-only passphrase"


def shopcore(
    cwd: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SHOPCORE_DATABASE_URL"}
    if database_url is not None:
        env["SHOPCORE_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def create_staff(
    cwd: Path, email: str, password: str = PASSWORD, **kw: str
) -> subprocess.CompletedProcess[str]:
    return shopcore(cwd, "create-staff", "--email", email, "--password", password, **kw)


async def log_in(database_url: str, email: str, password: str) -> tuple[int, str | None]:
    """Log in through the real app (argon2 and all); the status and the role /me reports."""
    app = build_app(test_settings(database_url))
    async with AsyncTestClient(app) as client:
        login = await client.post("/v1/auth/token", json={"email": email, "password": password})
        if login.status_code != 200:
            return login.status_code, None
        token = login.json()["access_token"]
        me = await client.get("/v1/customers/me", headers={"Authorization": f"Bearer {token}"})
        return login.status_code, me.json()["role"]


async def stored(database_url: str, customer_id: str) -> Customer | None:
    container = ShopContainer(settings=test_settings(database_url))
    try:
        return await get_customer(container.shop().uow(), customer_id)
    finally:
        await container.engine().dispose()


def staff_id(output: str) -> str:
    # "staff account boss@example.com is ready (id <uuid>)"
    return output.rsplit("(id ", 1)[1].rstrip(")\n")


def test_create_staff_makes_an_account_that_logs_in_as_staff(tmp_path: Path) -> None:
    result = create_staff(tmp_path, "Boss@Example.com")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("staff account boss@example.com is ready (id ")
    assert PASSWORD not in result.stdout + result.stderr
    url = f"sqlite+aiosqlite:///{tmp_path / 'shopcore.db'}"  # the embedded default, migrated
    assert asyncio.run(log_in(url, "boss@example.com", PASSWORD)) == (200, "staff")
    account = asyncio.run(stored(url, staff_id(result.stdout)))
    assert account is not None and account.role is Role.STAFF
    assert account.password_hash.startswith("$argon2id$")


def test_create_staff_is_idempotent(tmp_path: Path) -> None:
    first = create_staff(tmp_path, "boss@example.com")
    again = create_staff(tmp_path, "boss@example.com", "a different passphrase")

    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert staff_id(first.stdout) == staff_id(again.stdout)
    url = f"sqlite+aiosqlite:///{tmp_path / 'shopcore.db'}"
    # The account keeps the password it was made with.
    assert asyncio.run(log_in(url, "boss@example.com", PASSWORD)) == (200, "staff")
    assert asyncio.run(log_in(url, "boss@example.com", "a different passphrase"))[0] == 401


def test_create_staff_promotes_an_existing_customer(tmp_path: Path) -> None:
    assert shopcore(tmp_path, "db", "upgrade").returncode == 0
    url = f"sqlite+aiosqlite:///{tmp_path / 'shopcore.db'}"

    async def register() -> Customer:
        container = ShopContainer(settings=test_settings(url))
        try:
            customer: Customer = await container.shop().handle(
                RegisterCustomer(email="ada@example.com", password="ada's own passphrase")
            )
            return customer
        finally:
            await container.engine().dispose()

    customer = asyncio.run(register())

    result = create_staff(tmp_path, "ada@example.com")

    assert result.returncode == 0, result.stderr
    assert staff_id(result.stdout) == customer.id
    assert asyncio.run(log_in(url, "ada@example.com", "ada's own passphrase")) == (200, "staff")


def test_a_weak_password_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    result = create_staff(tmp_path, "boss@example.com", "short")

    assert result.returncode == 1
    assert "a password must be 12 to 128 characters long" in result.stderr
    url = f"sqlite+aiosqlite:///{tmp_path / 'shopcore.db'}"
    assert asyncio.run(log_in(url, "boss@example.com", "short"))[0] == 401


def test_an_invalid_email_is_refused(tmp_path: Path) -> None:
    result = create_staff(tmp_path, "not-an-email")

    assert result.returncode == 1
    assert "email is not a valid address" in result.stderr


def test_create_staff_refuses_to_write_to_no_database(tmp_path: Path) -> None:
    result = create_staff(tmp_path, "boss@example.com", database_url="memory")

    assert result.returncode == 2
    assert "SHOPCORE_DATABASE_URL=memory keeps nothing" in result.stderr


@pytest.mark.postgres
def test_create_staff_writes_to_the_configured_postgres(tmp_path: Path, postgres_url: str) -> None:
    asyncio.run(_empty(postgres_url))

    result = create_staff(tmp_path, "boss@example.com", database_url=postgres_url)

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "shopcore.db").exists()
    assert asyncio.run(log_in(postgres_url, "boss@example.com", PASSWORD)) == (200, "staff")


async def _empty(url: str) -> None:
    engine = await empty_postgres(url, pool_size=1)
    await engine.dispose()
