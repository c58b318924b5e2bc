"""The transactional outbox: events are rows written in the transaction that produced them,
so a committed change never loses its events and a rolled-back one never publishes any."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.tables import outbox
from shopcore.shared.messages import Event

_encoder = msgspec.json.Encoder()


def event_type(event: Event) -> str:
    return type(event).__name__


async def write_outbox(connection: AsyncConnection, events: Sequence[Event], now: datetime) -> None:
    if not events:
        return
    await connection.execute(
        insert(outbox),
        [
            {
                "event_id": event.event_id,
                "event_type": event_type(event),
                "payload": _encoder.encode(event).decode(),
                "created_at": now,
            }
            for event in events
        ],
    )
