"""The idempotency-key port: a request that moves money or stock, sent twice with the same
key, happens once. Stripe's rules: the same key with the same request replays the stored
response; with another request it is refused; while the first is still running it is busy.

A claim may name the `resource` its request creates (a checkout's order id). The work is then
durable on its own, and the resource, not the stored response, is the answer: a request that
died after its order was saved is answered from that order (and the record finished then), so
such a claim is never taken over as stale; a record without one is, after STALE_AFTER.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import msgspec

# A first request that has not finished after this long is taken to have died with its
# process: the key may be claimed again instead of staying locked until it expires.
STALE_AFTER = timedelta(minutes=5)


class Started(msgspec.Struct, frozen=True):
    """The key is ours: run the request, then `finish` or `abandon`."""


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    body: bytes


class InFlight(msgspec.Struct, frozen=True, kw_only=True):
    """The first request with this key has not finished: it is still running, or it died.
    `resource` is what it named as its creation (its outcome may be known from there);
    `since` is when it claimed the key."""

    resource: str | None = None
    since: datetime | None = None


class Mismatch(msgspec.Struct, frozen=True):
    """The key was used for a different request."""


Claim = Started | Replay | InFlight | Mismatch


class IdempotencyStore(Protocol):
    async def claim(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        resource: str | None = None,
    ) -> Claim:
        """Atomically claim `key` for `owner`, for work that creates `resource` (if named); an
        expired record counts as absent, and so does a stale one that named no resource."""
        ...

    async def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        """Store the response of the claimed request for replays."""
        ...

    async def abandon(self, owner: str, key: str) -> None:
        """Forget a claim whose request failed in a way worth retrying (a 5xx)."""
        ...
