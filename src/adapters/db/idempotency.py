"""Idempotency keys in the database: one row per (owner, key), claimed by an INSERT that
only one of any number of concurrent requests can win.

Each operation is one statement (an upsert claims a new key or one whose record expired or
died mid-flight), so on PostgreSQL it runs in autocommit: no BEGIN and COMMIT round trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import driver_statements as driver
from adapters.db import lone_statements
from adapters.db.engine import autocommit, autocommit_allowed
from adapters.db.errors import translated
from adapters.db.tables import idempotency_keys as keys
from shopcore.application.idempotency import (
    STALE_AFTER,
    Claim,
    InFlight,
    Mismatch,
    Replay,
    Started,
)


class SqlIdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Set once: a connection's own execution_options for each statement cost every
        # keyed request a third of a millisecond of Python (two statements a checkout).
        self._autocommit = (
            autocommit(engine)
            if engine.dialect.name == "postgresql" and autocommit_allowed(engine)
            else None
        )
        # On asyncpg each statement goes to the driver on a connection checked out in one
        # greenlet (lone_statements.py): a claim and an answer on every checkout.
        self._lone = lone_statements.for_engine(engine)

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement: autocommit on PostgreSQL, a short transaction on
        SQLite (whose writers queue on BEGIN IMMEDIATE)."""
        async with translated():
            if self._autocommit is not None:
                async with self._autocommit.connect() as connection:
                    yield connection
            else:
                async with self._engine.begin() as connection:
                    yield connection

    async def claim(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        resource: str | None = None,
    ) -> Claim:
        # A new key, or one whose old record expired or whose request died mid-flight.
        values = {
            "owner": owner,
            "key": key,
            "fingerprint": fingerprint,
            "resource": resource,
            "now": now,
            "expires_at": expires_at,
            "stale_before": now - STALE_AFTER,
        }
        lone = self._lone
        if lone is not None and (await lone.run(_claim(self._engine.dialect.name), values)).rows:
            return Started()
        async with self._statement() as connection:
            if self._lone is None:
                claimed = await driver.run(connection, _claim(connection.dialect.name), values)
                if claimed.rows:
                    return Started()
            row = (
                await connection.execute(
                    select(
                        keys.c.fingerprint,
                        keys.c.status_code,
                        keys.c.response,
                        keys.c.resource,
                        keys.c.created_at,
                    ).where(keys.c.owner == owner, keys.c.key == key)
                )
            ).one_or_none()
        if row is None:  # deleted between our insert and read: someone abandoned it
            return InFlight()
        if row.fingerprint != fingerprint:
            return Mismatch()
        if row.status_code is None:
            return InFlight(resource=row.resource, since=row.created_at)
        return Replay(status_code=int(row.status_code), body=(row.response or "").encode())

    async def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        values = {"the_owner": owner, "the_key": key, "code": status_code, "body": body.decode()}
        await self._alone(_FINISH, values)

    async def abandon(self, owner: str, key: str) -> None:
        await self._alone(_ABANDON, {"the_owner": owner, "the_key": key})

    async def _alone(self, statement: Any, values: dict[str, Any]) -> None:
        if self._lone is not None:
            await self._lone.run(statement, values)
            return
        async with self._statement() as connection:
            await driver.run(connection, statement, values)


# Built once, as the claim is, so the driver runs them on PostgreSQL (driver_statements.py):
# every keyed request ends with one of these. (An UPDATE's own
# parameters may not be named for its columns.)
_THIS_KEY = (keys.c.owner == bindparam("the_owner"), keys.c.key == bindparam("the_key"))
_FINISH = (
    update(keys).where(*_THIS_KEY).values(status_code=bindparam("code"), response=bindparam("body"))
)
_ABANDON = delete(keys).where(*_THIS_KEY)


# Built once per dialect: the claim runs on every request that carries a key, and building
# this upsert cost more Python than sending it.
_CLAIMS: dict[str, Any] = {}


def _claim(dialect: str) -> Any:
    statement = _CLAIMS.get(dialect)
    if statement is None:
        statement = _CLAIMS[dialect] = _claim_statement(dialect)
    return statement


def _claim_statement(dialect: str) -> Any:
    insert = postgresql.insert(keys) if dialect == "postgresql" else sqlite.insert(keys)
    now = bindparam("now", type_=keys.c.created_at.type)
    fresh = {
        "fingerprint": bindparam("fingerprint", type_=keys.c.fingerprint.type),
        "resource": bindparam("resource", type_=keys.c.resource.type),
        "created_at": now,
        "expires_at": bindparam("expires_at", type_=keys.c.expires_at.type),
    }
    return (
        insert.values(owner=bindparam("owner"), key=bindparam("key"), **fresh)
        .on_conflict_do_update(
            index_elements=[keys.c.owner, keys.c.key],
            set_=fresh | {"status_code": None, "response": None},
            where=or_(
                keys.c.expires_at <= now,
                keys.c.status_code.is_(None)
                & keys.c.resource.is_(None)
                & (keys.c.created_at <= bindparam("stale_before", type_=keys.c.created_at.type)),
            ),
        )
        .returning(keys.c.owner)
    )
