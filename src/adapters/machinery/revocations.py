"""Access tokens revoked before they expire: the list of ended logins one API process keeps.

An access token is a JWT checked without a database round trip, and it carries its login's
refresh-token family (`sid`). When a login ends (a logout, a reused refresh token) its family
goes on this list until the family's last access token would have expired anyway (`until`),
so checking a token stays an in-memory lookup. Shared between processes through Redis by
`adapters.messaging.revocations`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Revocations(Protocol):
    def revoked(self, family_id: str) -> bool: ...

    async def revoke(self, family_id: str, until: float) -> None: ...


class LocalRevocations:
    """The list of one process: family id -> when its last access token expires."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._now = now
        self._next_prune = 0.0

    def revoked(self, family_id: str) -> bool:
        until = self._until.get(family_id)
        return until is not None and until > self._now()

    async def revoke(self, family_id: str, until: float) -> None:
        self.add(family_id, until)

    def add(self, family_id: str, until: float) -> None:
        if until > self._until.get(family_id, 0.0):
            self._until[family_id] = until
        now = self._now()
        if now >= self._next_prune:  # entries whose tokens all expired are dropped, now and then
            self._until = {family: end for family, end in self._until.items() if end > now}
            self._next_prune = now + 60

    def __len__(self) -> int:
        return len(self._until)
