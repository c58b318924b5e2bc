"""The ports between the transactional outbox and the event stream.

Every commit writes its events as outbox entries in its own transaction. The relay
(`outbox_relay.py`) claims unpublished entries in the order they were written, hands them to an
`EventPublisher` and then marks them published. A crash between those two steps publishes
the same entries again on the next claim: delivery is at least once, and consumers tell a
redelivery by the event's `event_id`.

The outbox, not the stream, is the record of what must be delivered. An entry moves through
three states, all kept in the outbox:
- unpublished: committed, not yet in the stream (the relay's claims pick these);
- published: appended to the stream, where some consumer group may still need it;
- confirmed: every consumer group has acknowledged it (`EventPublisher.acknowledged`), so no
  loss of the stream can take it from any group any more.
When the stream is lost (Redis restarted empty, or with an older copy of its data), the
publisher says so (`FeedLost`) and the relay rewinds every published, unconfirmed entry to
unpublished: they are published again, in
id order, and each group handles what it had not acknowledged (and skips the rest by
`event_id`). Dead letters are kept beside the outbox for the same reason (`DeadLetters`).

The core never calls these ports: its unit of work promises only that events commit with the
state they describe. `adapters.db` implements `OutboxSource` and `DeadLetters`,
`adapters.messaging` the `EventPublisher`, and `apps/worker.py` runs the relay between them;
the ports sit here, below both families, because neither may import the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol

import msgspec


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One committed event as the outbox holds it: the payload is the tagged event's JSON,
    passed through untouched so the relay never decodes what it only forwards."""

    id: int  # the outbox's own sequence: the order entries were written in
    event_id: str
    event_type: str
    payload: bytes
    # The W3C trace context of the transaction that wrote it, when tracing was on: carried to
    # the stream so the worker's handling continues that trace.
    traceparent: str | None = None
    tracestate: str | None = None


class FeedLost(Exception):
    """The stream no longer holds what the outbox fed it (Redis restarted empty, or the stream
    was deleted): nothing was appended, and the published entries that were not confirmed must
    be published again."""


class Acknowledged(msgspec.Struct, frozen=True, kw_only=True):
    """Entries every consumer group has acknowledged since the publisher last let go of some:
    their outbox ids, and the stream position up to which they were read (None: none new)."""

    outbox_ids: Sequence[int] = ()
    through: str | None = None


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """An entry a consumer group gave up on, with why: kept so an operator can look at it,
    fix the cause and publish it again."""

    group: str
    event_id: str
    event_type: str
    payload: str
    message_id: str  # the stream entry it came from
    deliveries: int
    error: str
    failed_at: datetime
    traceback: str | None = None


class OutboxClaim(Protocol):
    """A batch of unpublished entries, held by one relay until the claim closes.

    Closing the claim without an error keeps what `mark_published` recorded; closing it with
    an error forgets it, and the entries stay unpublished."""

    @property
    def entries(self) -> Sequence[OutboxEntry]: ...

    async def mark_published(self, ids: Sequence[int], position: str) -> None:
        """These entries are in the stream, the last of them at `position` (the publisher's
        id for it, opaque here)."""
        ...


class OutboxSource(Protocol):
    def claim(self, limit: int) -> AbstractAsyncContextManager[OutboxClaim]:
        """Up to `limit` unpublished entries, lowest id first. While one relay holds a claim,
        another relay's claim comes back empty in the normal case, so relays do not publish
        the same entries twice or out of order."""
        ...

    async def record_failure(self, ids: Sequence[int]) -> None:
        """Count a failed publication of these entries (the operator sees stuck rows)."""
        ...

    async def confirm(self, ids: Sequence[int]) -> None:
        """Every consumer group has acknowledged these entries."""
        ...

    async def rewind(self) -> int:
        """The stream was lost: make every published entry that is not confirmed unpublished
        again, and forget the fed position; returns how many. It waits for a claim in progress
        to close, so no entry is marked published after the rewind for an append to the lost
        stream."""
        ...

    async def fed_position(self) -> str | None:
        """The position of the last entry marked published since the last rewind."""
        ...

    async def prune(self, confirmed_before: timedelta) -> int:
        """Delete entries confirmed longer ago than `confirmed_before`; returns how many."""
        ...


class EventPublisher(Protocol):
    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        """Append the entries to the event stream in the order given and return each one's
        stream id; raise FeedLost, appending nothing, when the stream is not the one this
        outbox fed (see `open_feed`), and any other error if some may not have been appended."""
        ...

    async def open_feed(self) -> None:
        """Start feeding the stream afresh (after the outbox was rewound): create the consumer
        groups that must see every entry, then mark the stream as fed."""
        ...

    async def acknowledged(self, fed: str | None) -> Acknowledged:
        """The entries every consumer group has acknowledged since `release` was last called.
        Raises FeedLost when the stream was lost meanwhile: it is not marked as fed, or it ends
        before `fed` (the outbox's `fed_position`: Redis came back with an older copy)."""
        ...

    async def release(self, acknowledged: Acknowledged) -> None:
        """The outbox has confirmed these entries: the stream may drop them (trimming still
        keeps the newest entries its retention asks for)."""
        ...


class DeadLetters(Protocol):
    async def record(self, letter: DeadLetter) -> None:
        """Keep the letter; recording the same group's letter for an event again changes
        nothing (a consumer that died before acknowledging dead-letters it again)."""
        ...
