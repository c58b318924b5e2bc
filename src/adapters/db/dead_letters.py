"""Dead letters in the database: what a consumer group gave up on outlives a Redis restart,
until an operator replays it (`shopcore dead-letters replay`, which removes what it replayed).

One row per group and event. A consumer that dies between recording a letter and acknowledging
its entry records it again when the entry comes back to it, and after a Redis restart the same
event may fail again from its republished entry: both land on the row already there (the
insert does nothing on the unique key), so an operator sees each failed event once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.session import insert_or_skip
from adapters.db.tables import dead_letters
from adapters.machinery.outbox import DeadLetter

# Longer ids and type names than the columns hold come only from entries no relay wrote.
_SHORT = 100


@dataclass(frozen=True, kw_only=True)
class StoredLetter:
    id: int
    group: str
    event_id: str
    event_type: str
    payload: str
    deliveries: int
    error: str
    failed_at: datetime


class SqlDeadLetters:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, letter: DeadLetter) -> None:
        values = {
            "group_name": letter.group[:_SHORT],
            "event_id": letter.event_id[:_SHORT],
            "event_type": letter.event_type[:_SHORT],
            "payload": letter.payload,
            "message_id": letter.message_id,
            "deliveries": letter.deliveries,
            "error": letter.error,
            "traceback": letter.traceback,
            "failed_at": letter.failed_at,
        }
        async with self._engine.begin() as connection:
            await connection.execute(insert_or_skip(connection, dead_letters), values)

    async def stored(self, ids: list[int] | None = None, limit: int = 1_000) -> list[StoredLetter]:
        """The letters, oldest first; `ids`: only those."""
        query = select(dead_letters).order_by(dead_letters.c.id).limit(limit)
        if ids is not None:
            query = query.where(dead_letters.c.id.in_(ids))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            StoredLetter(
                id=row["id"],
                group=row["group_name"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                payload=row["payload"],
                deliveries=row["deliveries"],
                error=row["error"],
                failed_at=row["failed_at"],
            )
            for row in rows
        ]

    async def remove(self, letter_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(dead_letters).where(dead_letters.c.id == letter_id))

    async def count(self) -> int:
        async with self._engine.connect() as connection:
            found = await connection.scalar(select(func.count()).select_from(dead_letters))
        return int(found or 0)
