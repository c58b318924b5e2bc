"""Dead letters in a Redis stream (`<stream>:dead`): for consumers that have no database at
hand (tests, tools). The worker keeps them in the database instead (`adapters.db.dead_letters`),
where a Redis that restarts empty cannot take them. Unlike the table, the stream keeps a letter
twice when a consumer dies between recording it and acknowledging its entry."""

from __future__ import annotations

from redis.asyncio import Redis

from adapters.machinery.outbox import DeadLetter
from adapters.messaging.codec import Fields


class StreamDeadLetters:
    def __init__(self, redis: Redis, stream: str) -> None:
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
