"""`shopcore create-staff`, the command itself, run in process: what it creates, refuses and
keeps, checked by logging in through the API. tests/system/test_cli_create_staff.py runs it as
an operator would, as a process of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from apps.cli import main
from apps.components import Components
from shopcore import RegisterCustomer
from shopcore.customers.model import Customer
from tests.support.api import test_settings
from tests.support.staff import PASSWORD, log_in, staff_id


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory of the command: where the embedded database goes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHOPCORE_DATABASE_URL", raising=False)
    return tmp_path


def shopcore(*args: str, database_url: str | None = None) -> Result:
    env = {} if database_url is None else {"SHOPCORE_DATABASE_URL": database_url}
    return CliRunner().invoke(main, list(args), env=env)


def create_staff(email: str, password: str = PASSWORD, **kw: str) -> Result:
    return shopcore("create-staff", "--email", email, "--password", password, **kw)


def test_create_staff_is_idempotent(here: Path) -> None:
    first = create_staff("boss@example.com")
    again = create_staff("boss@example.com", "a different passphrase")

    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert staff_id(first.stdout) == staff_id(again.stdout)
    url = f"sqlite+aiosqlite:///{here / 'shopcore.db'}"
    # The account keeps the password it was made with.
    assert asyncio.run(log_in(url, "boss@example.com", PASSWORD)) == (200, "staff")
    assert asyncio.run(log_in(url, "boss@example.com", "a different passphrase"))[0] == 401


def test_create_staff_promotes_an_existing_customer(here: Path) -> None:
    assert shopcore("db", "upgrade").exit_code == 0
    url = f"sqlite+aiosqlite:///{here / 'shopcore.db'}"

    async def register() -> Customer:
        async with Components(test_settings(url)) as components:
            return await components.shop.handle(
                RegisterCustomer(email="ada@example.com", password="ada's own passphrase")
            )

    customer = asyncio.run(register())

    result = create_staff("ada@example.com")

    assert result.exit_code == 0, result.output
    assert staff_id(result.stdout) == customer.id
    assert asyncio.run(log_in(url, "ada@example.com", "ada's own passphrase")) == (200, "staff")


def test_a_weak_password_is_refused_and_nothing_is_created(here: Path) -> None:
    result = create_staff("boss@example.com", "short")

    assert result.exit_code == 1
    assert "a password must be 12 to 128 characters long" in result.stderr
    url = f"sqlite+aiosqlite:///{here / 'shopcore.db'}"
    assert asyncio.run(log_in(url, "boss@example.com", "short"))[0] == 401


def test_an_invalid_email_is_refused(here: Path) -> None:
    result = create_staff("not-an-email")

    assert result.exit_code == 1
    assert "email is not a valid address" in result.stderr


def test_create_staff_refuses_to_write_to_no_database(here: Path) -> None:
    result = create_staff("boss@example.com", database_url="memory")

    assert result.exit_code == 2
    assert "SHOPCORE_DATABASE_URL=memory keeps nothing" in result.stderr
