"""Cached catalog reads in Redis, shared by every API process.

Keys, under `<namespace>:catalog:`:
- `entry:<key>`   the ETag, a newline, then the response body; expires after `ttl_seconds`
                  (a safety net: invalidation is what keeps entries fresh);
- `tag:<tag>`     the set of entry keys filed under a tag (`caching.py`);
- `clock`         a counter every invalidation increments;
- `dropped:<tag>` the counter value of the tag's last invalidation (kept a minute);
- `lock:<key>`    held by the process loading an entry.

The `catalog-cache` handler group (a worker, or the API process itself in the embedded mode)
calls `invalidate`, which in one script bumps the clock, marks the dropped tags and deletes
their entries. A load notes the clock before it reads the database, and its fill (one script)
keeps the body only if none of its tags was dropped since: a load that raced a change is
served to its callers but not cached.

Stampedes: concurrent misses of a key in one process share one load (single flight); across
processes the first to take `lock:<key>` (SET NX PX) loads while the others poll for the entry,
and load themselves only if the holder has not filled it within `lock_ms`.

Redis trouble never fails a read: the body is loaded and served uncached. The scripts touch
keys they find in the tag sets, so they suit a single Redis server, not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shopcore.application.single_flight import SingleFlight
from shopcore.catalog.caching import Cached, CatalogRead, cached, dropped_by, tags_of

logger = logging.getLogger("shopcore.catalog_cache")

MARKER_MS = 60_000  # longer than any load runs

_FILL = """
for i = 2, #KEYS, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 3, #KEYS, 2 do
  redis.call('SADD', KEYS[i], KEYS[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
"""

_DROP = """
local now = redis.call('INCR', KEYS[1])
local dropped = 0
for i = 2, #KEYS, 2 do
  redis.call('SET', KEYS[i], now, 'PX', ARGV[1])
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
    dropped = dropped + redis.call('DEL', key)
  end
  redis.call('DEL', KEYS[i + 1])
end
return dropped
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCatalogCache:
    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str = "shopcore",
        ttl_seconds: int = 60,
        lock_ms: int = 5_000,
        poll_seconds: float = 0.01,
    ) -> None:
        """`redis` answers bytes (no `decode_responses`): entries are response bodies."""
        self._redis = redis
        self._prefix = f"{namespace}:catalog:"
        self._ttl_ms = ttl_seconds * 1000
        self._lock_ms = lock_ms
        self._poll = poll_seconds
        self._flights: SingleFlight[Cached] = SingleFlight()
        self._fill = redis.register_script(_FILL)
        self._drop = redis.register_script(_DROP)
        self._unlock = redis.register_script(_UNLOCK)

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        try:
            hit = await self._get(key)
        except RedisError:
            logger.warning("catalog cache unavailable; serving %s uncached", key, exc_info=True)
            return cached(await load())
        if hit is not None:
            return hit
        return await self._flights.run(key, lambda: self._miss(key, load))

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        tags = dropped_by(product_ids, skus)
        if not tags:
            return
        keys = [self._prefix + "clock"]
        for tag in tags:
            keys += [self._prefix + f"dropped:{tag}", self._prefix + f"tag:{tag}"]
        await self._drop(keys=keys, args=[MARKER_MS])

    async def _get(self, key: str) -> Cached | None:
        value = await self._redis.get(self._prefix + f"entry:{key}")
        if value is None:
            return None
        raw = value if isinstance(value, bytes) else str(value).encode()
        etag, _, body = raw.partition(b"\n")
        return Cached(body, etag.decode())

    async def _miss(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        lock = self._prefix + f"lock:{key}"
        token = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_ms / 1000
        try:
            while loop.time() < deadline:
                if await self._redis.set(lock, token, nx=True, px=self._lock_ms):
                    try:
                        # The lock may be free because another process just filled the
                        # entry and let go: look again before loading.
                        hit = await self._get(key)
                        return hit if hit is not None else await self._load(key, load)
                    finally:
                        await self._release(lock, token)
                await asyncio.sleep(self._poll)
                hit = await self._get(key)
                if hit is not None:
                    return hit
        except RedisError:
            logger.warning("catalog cache unavailable; serving %s uncached", key, exc_info=True)
            return cached(await load())
        # The holder did not fill it in time (slow, or gone): never wait longer than that.
        return await self._load(key, load)

    async def _release(self, lock: str, token: str) -> None:
        try:
            await self._unlock(keys=[lock], args=[token])
        except RedisError:  # it expires after lock_ms anyway
            logger.warning("could not release %s", lock, exc_info=True)

    async def _load(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        started = int(await self._redis.get(self._prefix + "clock") or 0)
        read = await load()
        result = cached(read)
        keys = [self._prefix + f"entry:{key}"]
        for tag in tags_of(read):
            keys += [self._prefix + f"dropped:{tag}", self._prefix + f"tag:{tag}"]
        value = result.etag.encode() + b"\n" + result.body
        try:
            await self._fill(keys=keys, args=[value, self._ttl_ms, started])
        except RedisError:
            logger.warning("could not cache %s", key, exc_info=True)
        return result
