"""Idempotency keys in the database: one row per (owner, key), claimed by an INSERT that
only one of any number of concurrent requests can win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.errors import translated
from adapters.db.session import insert_or_skip
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

    async def claim(
        self, owner: str, key: str, fingerprint: str, now: datetime, expires_at: datetime
    ) -> Claim:
        where = (keys.c.owner == owner, keys.c.key == key)
        async with translated(), self._engine.begin() as connection:
            # Clear the way if the old record expired, or its request died mid-flight.
            await connection.execute(
                delete(keys).where(
                    *where,
                    or_(
                        keys.c.expires_at <= now,
                        keys.c.status_code.is_(None) & (keys.c.created_at <= now - STALE_AFTER),
                    ),
                )
            )
            inserted = await connection.execute(
                insert_or_skip(connection, keys).values(
                    owner=owner,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            if inserted.rowcount == 1:
                return Started()
            row = (
                await connection.execute(
                    select(keys.c.fingerprint, keys.c.status_code, keys.c.response).where(*where)
                )
            ).one_or_none()
        if row is None:  # deleted between our insert and read: someone abandoned it
            return InFlight()
        if row.fingerprint != fingerprint:
            return Mismatch()
        if row.status_code is None:
            return InFlight()
        return Replay(status_code=int(row.status_code), body=(row.response or "").encode())

    async def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        async with translated(), self._engine.begin() as connection:
            await connection.execute(
                update(keys)
                .where(keys.c.owner == owner, keys.c.key == key)
                .values(status_code=status_code, response=body.decode())
            )

    async def abandon(self, owner: str, key: str) -> None:
        async with translated(), self._engine.begin() as connection:
            await connection.execute(delete(keys).where(keys.c.owner == owner, keys.c.key == key))
