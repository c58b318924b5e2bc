"""The ports between the transactional outbox and the event stream.

Every commit writes its events as outbox entries in its own transaction. The relay
(`outbox_relay.py`) claims unpublished entries in the order they were written, hands them to an
`EventPublisher` and then marks them published. A crash between those two steps publishes
the same entries again on the next claim: delivery is at least once, and consumers tell a
redelivery by the event's `event_id`.

The core never calls these ports: its unit of work promises only that events commit with the
state they describe. `adapters.db` implements `OutboxSource`, `adapters.messaging` the
`EventPublisher`, and `apps/worker.py` runs the relay between them; the ports sit here, below
both families, because neither may import the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Protocol

import msgspec


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One committed event as the outbox holds it: the payload is the tagged event's JSON,
    passed through untouched so the relay never decodes what it only forwards."""

    id: int  # the outbox's own sequence: the order entries were written in
    event_id: str
    event_type: str
    payload: bytes


class OutboxClaim(Protocol):
    """A batch of unpublished entries, held by one relay until the claim closes.

    Closing the claim without an error keeps what `mark_published` recorded; closing it with
    an error forgets it, and the entries stay unpublished."""

    @property
    def entries(self) -> Sequence[OutboxEntry]: ...

    async def mark_published(self, ids: Sequence[int]) -> None: ...


class OutboxSource(Protocol):
    def claim(self, limit: int) -> AbstractAsyncContextManager[OutboxClaim]:
        """Up to `limit` unpublished entries, lowest id first. While one relay holds a claim,
        another relay's claim comes back empty in the normal case, so relays do not publish
        the same entries twice or out of order."""
        ...

    async def record_failure(self, ids: Sequence[int]) -> None:
        """Count a failed publication of these entries (the operator sees stuck rows)."""
        ...

    async def prune(self, published_before: timedelta) -> int:
        """Delete entries published longer ago than `published_before`; returns how many."""
        ...


class EventPublisher(Protocol):
    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        """Append the entries to the event stream in the order given and return each one's
        stream id; raise if any of them may not have been appended."""
        ...
