"""`shopcore create-staff` run as an operator would, as a process of its own, then used to log
in through the API (tests/integration/test_create_staff_command.py covers what the command
refuses and keeps, in process)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopcore.customers.model import Role
from tests.support.databases import empty_postgres
from tests.support.staff import PASSWORD, log_in, staff_id, stored


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
