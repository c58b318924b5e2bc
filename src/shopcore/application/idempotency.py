"""The idempotency-key port: a request that moves money or stock, sent twice with the same
key, happens once. Stripe's rules: the same key with the same request replays the stored
response; with another request it is refused; while the first is still running it is busy.
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


class InFlight(msgspec.Struct, frozen=True):
    """The first request with this key is still running."""


class Mismatch(msgspec.Struct, frozen=True):
    """The key was used for a different request."""


Claim = Started | Replay | InFlight | Mismatch


class IdempotencyStore(Protocol):
    async def claim(
        self, owner: str, key: str, fingerprint: str, now: datetime, expires_at: datetime
    ) -> Claim:
        """Atomically claim `key` for `owner`; an expired record counts as absent."""
        ...

    async def finish(self, owner: str, key: str, status_code: int, body: bytes) -> None:
        """Store the response of the claimed request for replays."""
        ...

    async def abandon(self, owner: str, key: str) -> None:
        """Forget a claim whose request failed in a way worth retrying (a 5xx)."""
        ...
