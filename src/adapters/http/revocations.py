"""Access tokens revoked before they expire: those of a login that ended (logout) or whose
refresh token was reused (it leaked).

An access token is a JWT checked without a database round trip, and it carries its login's
refresh-token family (`sid`). When a login ends, its family goes on a revocation list that
every API process keeps in memory until the family's last access token would have expired
anyway (`until`), so checking a token stays an in-memory lookup. A process hears of its own
revocations at once (the customers context's events, on its bus); with Redis, of everyone
else's too: each revocation is kept in a sorted set (score: until) and published, and every
process follows the channel and reads the whole set each time it (re)subscribes, so a process
that starts, or lost Redis for a while, misses none that still matter. While Redis does not
answer, a process knows what it revoked itself and what it had heard: a token revoked
elsewhere meanwhile lives to its expiry (15 minutes by default), as every token did before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from adapters.machinery.backoff import backoff

logger = logging.getLogger("shopcore.revocations")


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


class _Revoked(msgspec.Struct, frozen=True):
    family_id: str
    until: float


class RedisRevocations:
    """A process's list, shared through Redis (see the module doc)."""

    def __init__(
        self, redis: Any, *, namespace: str, local: LocalRevocations | None = None
    ) -> None:
        self._redis = redis
        self._key = f"{namespace}:revoked-logins"
        self._channel = f"{namespace}:revoked-logins"
        self._local = local or LocalRevocations()
        self._listener: asyncio.Task[None] | None = None
        self.following = False  # whether revocations from other processes reach this one

    def revoked(self, family_id: str) -> bool:
        return self._local.revoked(family_id)

    async def revoke(self, family_id: str, until: float) -> None:
        self._local.add(family_id, until)
        message = msgspec.json.encode(_Revoked(family_id, until))
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(self._key, {family_id: until})
                pipe.zremrangebyscore(self._key, "-inf", time.time())
                pipe.publish(self._channel, message)
                await pipe.execute()
        except Exception:
            logger.warning(
                "could not share the revocation of a login; other API processes accept its "
                "access tokens until they expire",
                exc_info=True,
            )

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="token-revocations")

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        self.following = False
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self) -> None:
        failures = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        # Subscribed (again): whatever was published meanwhile is in the set.
                        await self._load()
                        self.following = True
                        failures = 0
                    elif message["type"] == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if failures == 1:
                    logger.warning("token revocations unreachable", exc_info=True)
            finally:
                self.following = False
                await pubsub.aclose()
            await asyncio.sleep(backoff(failures, 0.05, 5.0))

    async def _load(self) -> None:
        entries = await self._redis.zrangebyscore(self._key, time.time(), "+inf", withscores=True)
        for family, until in entries:
            self._local.add(family.decode() if isinstance(family, bytes) else str(family), until)

    def _apply(self, data: object) -> None:
        try:
            revoked = msgspec.json.decode(
                data if isinstance(data, bytes) else str(data).encode(), type=_Revoked
            )
        except msgspec.DecodeError:
            logger.warning("undecodable token revocation ignored")
            return
        self._local.add(revoked.family_id, revoked.until)
