"""The transactional outbox: events are rows written in the transaction that produced them,
so a committed change never loses its events and a rolled-back one never publishes any.

`SqlOutboxSource` is the relay's side. On PostgreSQL a claim is a transaction that holds a
transaction-level advisory lock while it reads, publishes and marks a batch (the statement that
reads the batch takes the lock too, one round trip less before an event is published): one
relay publishes at a time, so any number of relays may run (one per worker) without publishing
the same rows twice or out of id order. (FOR UPDATE SKIP LOCKED would let relays publish
disjoint batches in parallel, and so out of order; one relay pipelines thousands of events a
second, which is plenty.) A relay that dies mid-claim releases the lock with its connection.

Id order is commit order for the events that matter to each other: two transactions that
change the same row are serialized by its row lock before they insert their outbox rows.

On SQLite a claim reads without the write lock and marks in a short write transaction of its
own, so that a slow publish never blocks the shop's writers. Two relays on one SQLite file may
then publish a batch twice, which at-least-once delivery allows; the embedded shop runs one.

A published row stays unconfirmed (`confirmed_at` null) until every consumer group has
acknowledged its event. `rewind` (Redis lost the stream) makes those rows unpublished again;
on PostgreSQL it first waits for the relay lock, so a claim that appended to the lost stream
and marks its rows afterwards cannot slip past it. Marking also records the stream position of
the batch's last entry (`outbox_feed`), so that a Redis that comes back with an older copy of
its data can be told from one that has everything. Pruning deletes only rows confirmed long ago.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import driver_statements as driver
from adapters.db.errors import lost_connection_ignored, translated
from adapters.db.session import dialect_insert
from adapters.db.tables import outbox, outbox_feed
from adapters.machinery.outbox import OutboxClaim, OutboxEntry
from shopcore.shared.messages import Event

_encoder = msgspec.json.Encoder()
# Built once, so the driver runs it (driver_statements.py).
_INSERT = insert(outbox)

# The advisory lock key of the relay ("shopoutb" in ASCII): any constant the app uses once.
RELAY_LOCK_KEY = 0x73686F706F757462
# Ids per confirming statement: well under any driver's limit of bound parameters.
_CONFIRM_CHUNK = 1_000
# The one row of outbox_feed.
_FEED = 1


def event_type(event: Event) -> str:
    return type(event).__name__


# What a unit of work hands `write_outbox` with tracing on: the W3C headers of the current
# span (`traceparent`, and `tracestate` when there is one).
TraceContext = Mapping[str, str]
_TRACE_HEADERS = ("traceparent", "tracestate")


async def write_outbox(
    connection: AsyncConnection,
    events: Sequence[Event],
    now: datetime,
    trace: TraceContext | None = None,
) -> None:
    """`trace`: the trace context to keep with each row, so the worker continues it. Without
    one the statement names no trace column (its plan is the one it always was)."""
    if not events:
        return
    await driver.run_many(connection, _INSERT, outbox_rows(events, now, trace))


def outbox_rows(
    events: Sequence[Event], now: datetime, trace: TraceContext | None = None
) -> list[dict[str, object]]:
    """The outbox rows of `events`, as `write_outbox` writes them (every row the same columns)."""
    carried = {name: trace[name] for name in _TRACE_HEADERS if name in trace} if trace else {}
    return [
        {
            "event_id": event.event_id,
            "event_type": event_type(event),
            "payload": _encoder.encode(event).decode(),
            "created_at": now,
            **carried,
        }
        for event in events
    ]


@dataclass
class _Claim:
    entries: Sequence[OutboxEntry]
    _mark: Callable[[Sequence[int], str], Awaitable[None]]

    async def mark_published(self, ids: Sequence[int], position: str) -> None:
        if ids:
            await self._mark(ids, position)


class SqlOutboxSource:
    def __init__(self, engine: AsyncEngine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[OutboxClaim]:
        """The batch to publish. Its database work is translated (a lost connection is
        ConnectionLost); the publishing in between is the caller's and is not."""
        if self._engine.dialect.name == "postgresql":
            async with translated():
                connection = await self._engine.connect()
            try:
                async with translated():
                    await connection.begin()
                    # No rows when another relay holds the lock: let it publish, look again.
                    entries = await _unpublished(connection, limit, relay_lock=True)
                yield _Claim(
                    entries, lambda ids, position: _mark(connection, ids, position, self._now())
                )
                async with translated():
                    await connection.commit()
            finally:
                async with lost_connection_ignored():
                    await connection.close()  # rolls back what was not committed
            return
        async with translated(), self._engine.connect() as reader:
            await reader.execution_options(shopcore_read_only=True)
            entries = await _unpublished(reader, limit)
            await reader.rollback()
        yield _Claim(entries, self._mark_now)

    async def _mark_now(self, ids: Sequence[int], position: str) -> None:
        async with translated(), self._engine.begin() as connection:
            await _mark(connection, ids, position, self._now())

    async def record_failure(self, ids: Sequence[int]) -> None:
        async with translated(), self._engine.begin() as connection:
            await connection.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(attempts=outbox.c.attempts + 1)
            )

    async def confirm(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        now = self._now()
        async with translated(), self._engine.begin() as connection:
            for start in range(0, len(ids), _CONFIRM_CHUNK):
                await connection.execute(
                    update(outbox)
                    .where(
                        outbox.c.id.in_(ids[start : start + _CONFIRM_CHUNK]),
                        outbox.c.confirmed_at.is_(None),
                    )
                    .values(confirmed_at=now)
                )

    async def rewind(self) -> int:
        async with translated(), self._engine.begin() as connection:
            if self._engine.dialect.name == "postgresql":
                # Waits for the claim in progress: its marks commit before this reads them.
                await connection.execute(select(func.pg_advisory_xact_lock(RELAY_LOCK_KEY)))
            result = await connection.execute(
                update(outbox)
                .where(outbox.c.confirmed_at.is_(None), outbox.c.published_at.is_not(None))
                .values(published_at=None)
            )
            await _record_position(connection, None, self._now())
        return int(result.rowcount)

    async def fed_position(self) -> str | None:
        async with translated(), self._engine.connect() as connection:
            position = await connection.scalar(
                select(outbox_feed.c.stream_position).where(outbox_feed.c.id == _FEED)
            )
        return None if position is None else str(position)

    async def prune(self, confirmed_before: timedelta) -> int:
        cutoff = self._now() - confirmed_before
        async with translated(), self._engine.begin() as connection:
            result = await connection.execute(
                delete(outbox).where(
                    outbox.c.confirmed_at.is_not(None), outbox.c.confirmed_at < cutoff
                )
            )
        return int(result.rowcount)

    async def unpublished_count(self) -> int:
        """How far the relay is behind (readiness checks, tests)."""
        async with translated(), self._engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return int(count or 0)


async def _unpublished(
    connection: AsyncConnection, limit: int, *, relay_lock: bool = False
) -> list[OutboxEntry]:
    query = (
        select(
            outbox.c.id,
            outbox.c.event_id,
            outbox.c.event_type,
            outbox.c.payload,
            outbox.c.traceparent,
            outbox.c.tracestate,
        )
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if relay_lock:
        # The lock and the read in one round trip: the lock is a one-time filter, taken before
        # the scan (no rows when another relay holds it). The statement's snapshot is older
        # than the lock, so FOR UPDATE makes it re-read each row as last committed: rows the
        # previous holder marked just before releasing the lock are skipped, not published
        # again.
        held = select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)).scalar_subquery()
        query = query.where(held).with_for_update()
    rows = await connection.execute(query)
    return [
        OutboxEntry(
            id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            payload=row.payload.encode(),
            traceparent=row.traceparent,
            tracestate=row.tracestate,
        )
        for row in rows
    ]


async def _mark(
    connection: AsyncConnection, ids: Sequence[int], position: str, now: datetime
) -> None:
    async with translated():
        await connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(published_at=now, attempts=outbox.c.attempts + 1)
        )
        await _record_position(connection, position, now)


async def _record_position(
    connection: AsyncConnection, position: str | None, now: datetime
) -> None:
    """In the transaction that marks (or rewinds), under the relay lock on PostgreSQL: the
    position only moves forward, and is never ahead of what was marked."""
    values = {"stream_position": position, "updated_at": now}
    await connection.execute(
        dialect_insert(connection, outbox_feed)
        .values(id=_FEED, **values)
        .on_conflict_do_update(index_elements=[outbox_feed.c.id], set_=values)
    )
