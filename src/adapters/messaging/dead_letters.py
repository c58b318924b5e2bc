"""Dead letters: the letter a consumer writes for an entry it gives up on, and a Redis stream
(`<stream>:dead`) to keep them in for consumers that have no database at hand (tests, tools).
The worker keeps them in the database instead (`adapters.db.dead_letters`), where a Redis that
restarts empty cannot take them. Unlike the table, the stream keeps a letter twice when a
consumer dies between recording it and acknowledging its entry."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime

from adapters.machinery.outbox import DeadLetter
from adapters.messaging.codec import Fields
from adapters.messaging.connection import RedisClient


def letter_for(
    fields: Fields,
    group: str,
    message_id: str,
    deliveries: int,
    error: str,
    exception: BaseException | None = None,
) -> DeadLetter:
    """The dead letter of a stream entry, with the error and (shortened) its traceback."""
    return DeadLetter(
        group=group,
        event_id=fields.get("event_id", ""),
        event_type=fields.get("type", ""),
        payload=fields.get("payload", ""),
        message_id=message_id,
        deliveries=deliveries,
        error=error[:2_000],
        failed_at=datetime.now(UTC),
        traceback=None
        if exception is None
        else "".join(traceback.format_exception(exception))[-4_000:],
    )


class StreamDeadLetters:
    def __init__(self, redis: RedisClient, stream: str) -> None:
        self._redis = redis
        self._stream = stream

    async def record(self, letter: DeadLetter) -> None:
        fields: Fields = {
            "event_id": letter.event_id,
            "type": letter.event_type,
            "payload": letter.payload,
            "group": letter.group,
            "message_id": letter.message_id,
            "deliveries": str(letter.deliveries),
            "error": letter.error,
            "failed_at": letter.failed_at.isoformat(),
        }
        if letter.traceback is not None:
            fields["traceback"] = letter.traceback
        await self._redis.xadd(self._stream, fields)  # type: ignore[arg-type]
