"""Idempotency keys in memory, for the embedded shop and tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shopcore.application.idempotency import (
    STALE_AFTER,
    Claim,
    InFlight,
    Mismatch,
    Replay,
    Started,
)


@dataclass
class _Record:
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    resource: str | None = None
    status_code: int | None = None
    body: bytes = b""


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], _Record] = {}

    async def claim(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        resource: str | None = None,
    ) -> Claim:
        # No await between the read and the write: atomic on one event loop.
        record = self._records.get((owner, key))
        stale = (
            record is not None
            and record.status_code is None
            and record.resource is None
            and record.created_at <= now - STALE_AFTER
        )
        if record is None or record.expires_at <= now or stale:
            self._records[(owner, key)] = _Record(fingerprint, now, expires_at, resource)
            return Started()
        if record.fingerprint != fingerprint:
            return Mismatch()
        if record.status_code is None:
            return InFlight(resource=record.resource, since=record.created_at)
        return Replay(status_code=record.status_code, body=record.body)

    async def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        record = self._records.get((owner, key))
        if record is not None:
            record.status_code = status_code
            record.body = body

    async def abandon(self, owner: str, key: str) -> None:
        self._records.pop((owner, key), None)
