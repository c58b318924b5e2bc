"""Ended logins shared by every API process through Redis (see
`adapters.machinery.revocations` for the list each process keeps).

A process hears of its own revocations at once (the customers context's events, on its bus);
through Redis, of everyone else's too: each revocation is kept in a sorted set (score: when
the login's last access token expires) and published, and every process follows the channel
and reads the whole set each time it (re)subscribes, so a process that starts, or lost Redis
for a while, misses none that still matter. While Redis does not answer, a process knows what
it revoked itself and what it had heard: a token revoked elsewhere meanwhile lives to its
expiry (15 minutes by default), as every token did before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec

from adapters.machinery.revocations import LocalRevocations
from adapters.messaging.channel import follow, stop_following

logger = logging.getLogger("shopcore.revocations")


# Kept, pruned and announced in one step. A script rather than MULTI: on Redis Cluster a
# transaction may hold only keyed commands of one slot, and PUBLISH names a channel, not a key
# (inside a script it is broadcast to every node as any PUBLISH is).
_REVOKE = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
"""


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
        self._revoke = redis.register_script(_REVOKE)
        self._listener: asyncio.Task[None] | None = None
        self.following = False  # whether revocations from other processes reach this one

    def revoked(self, family_id: str) -> bool:
        return self._local.revoked(family_id)

    async def revoke(self, family_id: str, until: float) -> None:
        self._local.add(family_id, until)
        message = msgspec.json.encode(_Revoked(family_id, until))
        try:
            await self._revoke(
                keys=[self._key], args=[until, family_id, time.time(), self._channel, message]
            )
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
            await stop_following(listener, logger)

    async def _listen(self) -> None:
        async def subscribed() -> None:
            # Subscribed (again): whatever was published meanwhile is in the set.
            await self._load()
            self.following = True

        def lost() -> None:
            self.following = False

        await follow(
            self._redis,
            self._channel,
            subscribed=subscribed,
            message=self._apply,
            lost=lost,
            logger=logger,
            unreachable="token revocations unreachable",
        )

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
