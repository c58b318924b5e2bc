"""The processed-event records of one SQL unit of work: read in its transaction, written by its
commit together with the handler's effect and the outbox rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.connections import Connections
from adapters.db.errors import translated
from adapters.db.tables import processed_events


class SqlProcessedEvents:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._staged: list[tuple[str, str]] = []

    async def contains(self, handler: str, event_id: str) -> bool:
        connection = await self._connections.connection(write=False)
        table = processed_events
        async with translated():
            found = await connection.scalar(
                select(
                    exists().where(and_(table.c.handler == handler, table.c.event_id == event_id))
                )
            )
        return bool(found)

    def add(self, handler: str, event_id: str) -> None:
        self._staged.append((handler, event_id))

    @property
    def staged(self) -> bool:
        return bool(self._staged)

    async def flush(self, connection: AsyncConnection, now: datetime) -> None:
        """A plain INSERT: a pair recorded meanwhile by another consumer fails the commit (the
        unit of work maps the unique violation to AlreadyExists), so the effect is undone."""
        if not self._staged:
            return
        await connection.execute(
            insert(processed_events),
            [
                {"handler": handler, "event_id": event_id, "processed_at": now}
                for handler, event_id in self._staged
            ],
        )

    def committed(self) -> None:
        self._staged.clear()
