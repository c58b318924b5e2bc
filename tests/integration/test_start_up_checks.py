"""Before an entry point starts, every service it is configured with must be usable: a bad
one ends the start with one line naming it and what to do, never a traceback. A process that
is running already answers 503 with Retry-After for a database it cannot use, never 500."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.db import schema_revision
from apps import serving
from apps.cli import main
from apps.database import prepare
from apps.settings import Settings
from tests.support.api import api_app, test_settings
from tests.support.databases import require_postgres
from tests.support.ports import free_port

UNREACHABLE_POSTGRES = "postgresql+asyncpg://shop:hunter2@127.0.0.1:1/shop"


def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Result:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())], env=env)
    return result


def one_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def unmigrated() -> Iterator[str]:
    """A PostgreSQL database that exists and was never migrated."""
    base = make_url(require_postgres())
    name = f"shopcore_unmigrated_{os.getpid()}"

    async def run(statement: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_an_unreachable_database_stops_the_start_in_one_line_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = serve(tmp_path, monkeypatch, SHOPCORE_DATABASE_URL=UNREACHABLE_POSTGRES)

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("Error: cannot reach the database at postgresql+asyncpg://shop:***@")
    assert "hunter2" not in result.output


@pytest.mark.postgres
def test_a_database_that_does_not_exist_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(require_postgres()).set(database="shopcore_no_such_database")

    result = serve(tmp_path, monkeypatch, SHOPCORE_DATABASE_URL=url.render_as_string(False))

    assert result.exit_code == 1
    assert 'database "shopcore_no_such_database" does not exist' in one_line(result)


@pytest.mark.postgres
def test_a_database_never_migrated_stops_the_start_naming_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unmigrated: str
) -> None:
    result = serve(tmp_path, monkeypatch, SHOPCORE_DATABASE_URL=unmigrated)

    assert result.exit_code == 1
    line = one_line(result)
    assert "never migrated" in line and schema_revision.head() in line
    assert "run `shopcore db upgrade`" in line


@pytest.mark.postgres
async def test_a_running_api_on_a_database_never_migrated_answers_503_and_is_not_ready(
    unmigrated: str,
) -> None:
    app, _, side = api_app(test_settings(unmigrated))
    try:
        async with AsyncTestClient(app) as client:
            ready = await client.get("/health/ready")
            listing = await client.get("/v1/products")
            registered = await client.post(
                "/v1/customers",
                json={"email": "early@example.com", "password": "a long enough passphrase"},
            )
    finally:
        await side.aclose()

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "failing"
    for answer in (listing, registered):
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"]
        assert answer.json()["type"].endswith("/unavailable")
        assert "products" not in answer.text  # which table is missing is the operator's to read


def test_an_unreachable_redis_is_a_warning_and_the_start_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        redis_url="redis://:s3cret@127.0.0.1:1/0",
    )

    asyncio.run(prepare(settings))  # a running process rides out Redis away: so does a start

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "Redis at redis://:***@127.0.0.1:1/0 does not answer" in warning.getMessage()
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize("variable", ["SHOPCORE_DATABASE_URL", "SHOPCORE_CURRENCY"])
def test_a_malformed_setting_stops_the_start_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    result = serve(tmp_path, monkeypatch, **{variable: "postgres://nope"})

    assert result.exit_code == 2
    assert one_line(result).startswith(f"Error: {variable} must be ")


def test_the_version_is_printed() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0
    assert result.output.startswith("shopcore, version ")


def test_local_processes_on_one_embedded_database_share_a_signing_key(tmp_path: Path) -> None:
    embedded = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")

    first, second = (serving._unset_signing_key(embedded) for _ in range(2))

    assert first == second and len(first) >= 32
    kept = tmp_path / "shop.db.jwt-secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert serving._unset_signing_key(Settings()) != serving._unset_signing_key(Settings())
