"""Engines for the two supported databases, configured for correctness under concurrency.

SQLite (the embedded default): WAL so readers never block the writer, a busy timeout so a
second writer waits instead of failing, foreign keys on, and every transaction started with
BEGIN IMMEDIATE, so a transaction that reads and then writes cannot fail half-way on a lock
upgrade. PostgreSQL: a pool sized from the environment, READ COMMITTED, and row locks taken
by the conditional UPDATEs themselves.

The pool holds up to twice `pool_size` connections (the setting's "and as many again under
load") as one fixed pool, not `pool_size` plus an overflow: SQLAlchemy closes an overflow
connection whenever one is handed back while `pool_size` others sit idle, which under steady
load happens many times a second (requests finish in bursts, before the waiting ones run). Each
close meant a new connection soon after, a new server process forked and an SSL handshake tried:
123 new sessions in 4 s of uncached catalog listings at 32 concurrent requests, and none after
this change. A fixed pool still opens connections only as they are needed.

A PostgreSQL connection the server dropped (a restart, a failover, `pg_terminate_backend`) is
never handed out twice: the first statement that finds it dead invalidates it and every
connection the pool opened before it (disconnects.py adds to SQLAlchemy's detection what the
asyncpg dialect misses), the unit of work fails as `ConnectionLost`, and the bus re-runs it on
a fresh connection. No pre-ping: SQLAlchemy's asyncpg ping is BEGIN, an empty statement and
ROLLBACK, three round trips at every checkout, to catch a fault that costs one retry per
in-flight unit when it happens. Measured on the local PostgreSQL (`python -m
bench.connection_loss pre-ping`: 1,000 units of work of one read each, median of 5 runs, two
runs on the shared 2-core machine): one at a time, 731-981 us a unit without pre-ping and
1,180-1,715 us with it (+61 to +75 %); ten at a time, 691-820 us against 855-1,212 us (+24 to
+48 %). Recycling after 30 minutes handles connections idle past a firewall's timeout.
"""

from __future__ import annotations

import uuid
import weakref
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_

from adapters.db.disconnects import detect_disconnects
from adapters.db.pool_metrics import timed_pool

DEFAULT_URL = "sqlite+aiosqlite:///shopcore.db"
# The execution option that marks an engine reached through a transaction pooler.
TRANSACTION_POOLER = "shopcore_transaction_pooler"


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def create_engine(
    url: str = DEFAULT_URL,
    *,
    pool_size: int = 10,
    pool_timeout: float = 30,
    echo: bool = False,
    transaction_pooler: bool = False,
    pool_label: str = "primary",
) -> AsyncEngine:
    """`transaction_pooler`: `url` is a pooler in transaction mode (PgBouncer), which hands
    each transaction whichever server connection is free, so no prepared statement may be
    named and kept: asyncpg's statement cache is off (its statements are unnamed, sent again
    with each execution), SQLAlchemy's too, and the names SQLAlchemy still gives are unique.
    `pool_label`: the `pool` label of this engine's pool metrics on PostgreSQL (pool_metrics.py)."""
    parsed = make_url(url)
    options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": msgspec.json.decode,
        "echo": echo,
        # A statement's values are customers' emails, addresses and token hashes: an error
        # logged with its statement must not carry them into the logs.
        "hide_parameters": True,
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **options)
        _configure_sqlite(engine)
        return engine
    # No pre-ping (see above): a dropped connection is found by its first statement. No
    # overflow either (see above): the same number of connections, all of them kept.
    options.update(
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        poolclass=timed_pool(pool_label),
    )
    if "sslmode" in parsed.query:
        # libpq's name, which operators copy from every other tool; asyncpg takes the same
        # modes (require, verify-full, ...) as `ssl`, and fails on `sslmode` at connect time.
        mode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
    if transaction_pooler:
        parsed = parsed.update_query_dict({"prepared_statement_cache_size": "0"})
        options["connect_args"] = {
            "statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__shopcore_{uuid.uuid4().hex}__",
        }
    engine = create_async_engine(parsed.render_as_string(hide_password=False), **options)
    detect_disconnects(engine)
    if engine.dialect.driver == "asyncpg":
        _roll_back_on_return(engine)
    if transaction_pooler:
        return engine.execution_options(**{TRANSACTION_POOLER: True})
    return engine


def autocommit_allowed(engine: AsyncEngine) -> bool:
    """Whether statements may run outside a transaction (autocommit). Not through a
    transaction pooler: between two messages of one statement (SQLAlchemy prepares, then
    executes) it may hand the client another server connection; inside a transaction it
    keeps one."""
    return not engine.get_execution_options().get(TRANSACTION_POOLER, False)


def _roll_back_on_return(engine: AsyncEngine) -> None:
    """A unit of work begins and ends its transactions itself, on a connection SQLAlchemy
    keeps in autocommit (driver_statements.py), so the pool's own rollback on return sends
    nothing. A unit that never got to end its transaction (cancelled mid-statement) would
    hand the pool a connection inside it: roll that back here. If the rollback fails, the
    pool throws the connection away."""

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver is not None and not driver.is_closed() and driver.is_in_transaction():
            await_(driver.execute("ROLLBACK"))


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
        # they queue on busy_timeout instead of failing half-way on a lock upgrade. A
        # connection that sends one SELECT and nothing else needs no BEGIN at all: SQLite runs
        # a statement outside a transaction in one of its own, a snapshot as consistent.
        options = connection.get_execution_options()
        if options.get("shopcore_single_read", False):
            return
        read_only = options.get("shopcore_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


# One autocommit variant per engine (sharing its pool), kept: a connection taken from it is in
# autocommit from the start, which saves a trip to SQLAlchemy's greenlet to set the mode on
# each connection (about 50 us; several times a checkout: its units of work, its idempotency
# key, the simulated gateway).
_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` with its connections in autocommit, the same variant every time."""
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found
