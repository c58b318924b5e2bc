"""The migrations build exactly the schema tables.py describes, on both databases
(tests/system/test_db_upgrade.py runs the operational command that applies them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from adapters.db.engine import create_engine
from adapters.db.migrate import upgrade
from adapters.db.tables import metadata
from apps.database import redacted


def _drift(url: str) -> list[object]:
    async def compare() -> list[object]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(compare())


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    assert _drift(url) == []


@pytest.mark.postgres
def test_postgres_migrations_match_the_models(postgres_url: str) -> None:
    assert _drift(postgres_url) == []


def test_upgrading_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    upgrade(url)
    assert _drift(url) == []


def test_db_upgrade_never_prints_the_database_password() -> None:
    shown = redacted("postgresql+asyncpg://shop:s3cret-Pa55@db.internal:5432/shop")
    assert "s3cret-Pa55" not in shown
    assert shown == "postgresql+asyncpg://shop:***@db.internal:5432/shop"
