"""Dead letters in the database: what a consumer group gave up on outlives a Redis restart.

One row per group and event. A consumer that dies between recording a letter and acknowledging
its entry records it again when the entry comes back to it, and after a Redis restart the same
event may fail again from its republished entry: both land on the row already there (the
insert does nothing on the unique key), so an operator sees each failed event once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.session import insert_or_skip
from adapters.db.tables import dead_letters
from adapters.machinery.outbox import DeadLetter

# Longer ids and type names than the columns hold come only from entries no relay wrote.
_SHORT = 100


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
