"""Engines for the two supported databases, configured for correctness under concurrency.

SQLite (the embedded default): WAL so readers never block the writer, a busy timeout so a
second writer waits instead of failing, foreign keys on, and every transaction started with
BEGIN IMMEDIATE, so a transaction that reads and then writes cannot fail half-way on a lock
upgrade. PostgreSQL: a pool sized from the environment, READ COMMITTED, and row locks taken
by the conditional UPDATEs themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite+aiosqlite:///shopcore.db"


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def create_engine(
    url: str = DEFAULT_URL, *, pool_size: int = 10, pool_timeout: float = 30, echo: bool = False
) -> AsyncEngine:
    parsed = make_url(url)
    options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": msgspec.json.decode,
        "echo": echo,
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **options)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip per unit of work; recycling handles idle drops.
    options.update(
        pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, pool_timeout=pool_timeout
    )
    return create_async_engine(url, **options)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers take a snapshot without the write lock; writers take the lock up front, so
        # they queue on busy_timeout instead of failing half-way on a lock upgrade.
        read_only = connection.get_execution_options().get("shopcore_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
