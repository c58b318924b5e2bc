"""`shopcore db upgrade`, run as an operator would: it migrates the embedded database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from adapters.db.engine import create_engine
from adapters.db.tables import metadata


def test_db_upgrade_creates_the_embedded_database_in_the_working_directory(
    tmp_path: Path,
) -> None:
    env = {key: value for key, value in os.environ.items() if key != "SHOPCORE_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "apps.cli", "db", "upgrade"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    database = tmp_path / "shopcore.db"
    assert database.exists()

    async def tables() -> set[str]:
        engine = create_engine(f"sqlite+aiosqlite:///{database}", pool_size=1)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    assert {table.name for table in metadata.sorted_tables} <= asyncio.run(tables())
