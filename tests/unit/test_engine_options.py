"""What every engine is made with, whatever builds it: libpq's `sslmode` understood, and no
statement's values in an error (they are customers' emails and addresses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from adapters.db.engine import create_engine


@pytest.mark.parametrize("mode", ["require", "verify-full", "disable"])
async def test_libpqs_sslmode_becomes_asyncpgs_ssl(mode: str) -> None:
    engine = create_engine(f"postgresql+asyncpg://shop@db.internal/shop?sslmode={mode}")

    assert dict(engine.url.query) == {"ssl": mode}
    await engine.dispose()


async def test_an_error_never_shows_the_values_of_its_statement(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE people (email TEXT UNIQUE)"))
            insert = text("INSERT INTO people VALUES (:email)")
            await connection.execute(insert, {"email": "ada@example.com"})
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(insert, {"email": "ada@example.com"})
    finally:
        await engine.dispose()

    assert "UNIQUE" in str(raised.value)
    assert "ada@example.com" not in str(raised.value)
