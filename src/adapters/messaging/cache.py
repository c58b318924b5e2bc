"""Cached catalog reads in Redis, shared by every API process.

Keys, under `{<namespace>:catalog}:` (one hash tag: on Redis Cluster every catalog key lives in
one slot, as the scripts below need, which touch an entry, its tags and the keys filed under
them):
- `entry:<key>`   the ETag, a newline, the entry's tags (a JSON list), a newline, then the
                  response body; expires after `ttl_seconds` (a safety net: invalidation is
                  what keeps entries fresh);
- `tag:<tag>`     the set of entry keys filed under a tag (`adapters.machinery.cached_reads`);
- `clock`         a counter every invalidation increments;
- `dropped:<tag>` the counter value of the tag's last invalidation (kept a minute);
- `lock:<key>`    held by the process loading an entry.

The `catalog-cache` handler group (a worker, or the API process itself in the embedded mode)
calls `invalidate`, which in one script bumps the clock, marks the dropped tags and deletes
their entries. A load notes the clock before it reads the database, and its fill (one script)
keeps the body only if none of its tags was dropped since: a load that raced a change is
served to its callers but not cached.

Near cache (`near`; the API's default, SHOPCORE_CATALOG_NEAR_CACHE_SECONDS): each process also
keeps what it read for a few seconds in its own memory (`MemoryCatalogCache`), so a hot page
costs no Redis round trip at all. `invalidate` publishes what it dropped on the channel
`<namespace>:catalog:dropped` (in the same script as the drop), and every process listening
drops the matching near entries at once, within a millisecond or so of the change. The near copy
is used only while this process is subscribed: on every (re)subscription it starts empty, so
changes missed while disconnected are never served; if the connection dies unnoticed, the near
cache's TTL bounds how stale a page can be. The channel is classic pub/sub, which Redis Cluster
broadcasts to every node, so a listener may subscribe on any node.

Stampedes: concurrent misses of a key in one process share one load (single flight); across
processes the first to take `lock:<key>` (SET NX PX) loads while the others poll for the entry,
and load themselves only if the holder has not filled it within `lock_ms`.

Redis trouble never fails a read: the body is loaded and served uncached, one load per key. A
failure opens an outage (`adapters.machinery.outage`, logged once) in which reads go straight
to the database and one a second tries Redis again; the near copy is bypassed while the
listener is disconnected (at once when Redis dies: its connection closes). The drop script
deletes keys it finds in the tag sets, which it cannot declare: on Redis Cluster that is allowed
because they share its slot. The price is that the shared cache lives on one shard; with the
near copies in front of it, a hot page costs that shard one read per process every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgspec

from adapters.machinery.cached_reads import (
    Cached,
    CatalogRead,
    CatalogReads,
    cached,
    dropped_by,
    filed_as,
    tags_of,
)
from adapters.machinery.outage import Outage
from adapters.machinery.single_flight import SingleFlight
from adapters.messaging.channel import follow, stop_following
from adapters.messaging.connection import RedisClient, RedisFailure
from adapters.messaging.keys import together

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
redis.call('PUBLISH', ARGV[2], ARGV[3])
return dropped
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class NearCache(CatalogReads, Protocol):
    """A process's own cache in front of Redis (`MemoryCatalogCache`, given by the composition
    root): reads through it, drops by what changed, and can forget everything."""

    def drop(self, product_ids: Sequence[str], skus: Sequence[str]) -> None: ...

    def clear(self) -> None: ...


class Dropped(msgspec.Struct, frozen=True):
    """What an invalidation dropped, as published to the near caches."""

    product_ids: list[str]
    skus: list[str]


class RedisCatalogCache:
    def __init__(
        self,
        redis: RedisClient,
        *,
        namespace: str = "shopcore",
        ttl_seconds: int = 60,
        lock_ms: int = 5_000,
        poll_seconds: float = 0.01,
        near: NearCache | None = None,
    ) -> None:
        """`redis` answers bytes (no `decode_responses`): entries are response bodies. `near`
        keeps entries in this process too (module docstring); its TTL bounds how stale they
        can be when the invalidation connection dies unnoticed."""
        self._redis = redis
        self._prefix = together(f"{namespace}:catalog") + ":"
        self._channel = f"{namespace}:catalog:dropped"  # a channel is not a key: in no slot
        self._ttl_ms = ttl_seconds * 1000
        self._lock_ms = lock_ms
        self._poll = poll_seconds
        self._flights: SingleFlight[tuple[Cached, tuple[str, ...]]] = SingleFlight()
        self._fill = redis.register_script(_FILL)
        self._drop = redis.register_script(_DROP)
        self._unlock = redis.register_script(_UNLOCK)
        self._near = near
        self._subscribed = False  # the near copy is used only while this holds
        self._listener: asyncio.Task[None] | None = None
        self._outage = Outage("Redis (catalog cache; reading the database)", logger)
        # Invalidations gathered for this turn's one script call, and that call's outcome.
        self._waiting: tuple[list[str], list[str]] = ([], [])
        self._gathered: asyncio.Future[None] | None = None

    @property
    def near_live(self) -> bool:
        """Whether reads are answered from this process's memory now."""
        return self._near is not None and self._subscribed

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        near = self._near
        if near is None:
            return (await self._shared(key, load))[0]
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(near), name="catalog-near-cache")
        if not self._subscribed:
            return (await self._shared(key, load))[0]

        async def from_shared() -> CatalogRead:
            found, tags = await self._shared(key, load)
            return filed_as(found.body, tags)

        return await near.read(key, from_shared)

    def peek(self, key: str) -> Cached | None:
        # As `read`: the near copy answers only while invalidations reach it.
        near = self._near
        if near is None or self._listener is None or not self._subscribed:
            return None
        return near.peek(key)

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        """Drop what the change makes stale. The invalidations that arrive in the same turn of
        the loop (a worker's catalog-cache group handles a checkout's stock changes
        concurrently) go in one script call: each caller returns once that call has dropped
        its tags too, and a failure of it is each one's failure."""
        if not dropped_by(product_ids, skus):
            return
        if self._near is not None:  # this process need not wait for its own message
            self._near.drop(product_ids, skus)
        self._waiting[0].extend(product_ids)
        self._waiting[1].extend(skus)
        if self._gathered is not None:
            await asyncio.shield(self._gathered)  # the first of this turn drops these too
            return
        gathered = self._gathered = asyncio.get_running_loop().create_future()
        try:
            try:
                await asyncio.sleep(0)
            finally:
                (products, all_skus), self._waiting = self._waiting, ([], [])
                self._gathered = None
            await self._drop_now(list(dict.fromkeys(products)), list(dict.fromkeys(all_skus)))
        except BaseException as error:
            gathered.set_exception(error)
            gathered.exception()  # retrieved here, whether or not another caller waits on it
            raise
        gathered.set_result(None)

    async def _drop_now(self, product_ids: list[str], skus: list[str]) -> None:
        keys = [self._prefix + "clock"]
        for tag in dropped_by(product_ids, skus):
            keys += [self._prefix + f"dropped:{tag}", self._prefix + f"tag:{tag}"]
        message = msgspec.json.encode(Dropped(product_ids, skus))
        await self._drop(keys=keys, args=[MARKER_MS, self._channel, message])

    async def close(self) -> None:
        """Stop listening for invalidations (the near copy is no longer used)."""
        listener, self._listener = self._listener, None
        self._subscribed = False
        if listener is not None:
            await stop_following(listener, logger)

    async def _listen(self, near: NearCache) -> None:
        """Follow the invalidations. Every subscription confirmation (the first, and each one
        redis-py sends again after it reconnects by itself) empties the near copy: what was
        published while disconnected is lost, so nothing kept from before may be served."""

        async def subscribed() -> None:
            near.clear()
            self._subscribed = True

        def lost() -> None:
            self._subscribed = False
            near.clear()

        await follow(
            self._redis,
            self._channel,
            subscribed=subscribed,
            message=lambda data: self._apply(near, data),
            lost=lost,
            logger=logger,
            unreachable="catalog invalidations unreachable; near cache off",
        )

    @staticmethod
    def _apply(near: NearCache, data: object) -> None:
        try:
            dropped = msgspec.json.decode(
                data if isinstance(data, bytes) else str(data).encode(), type=Dropped
            )
        except msgspec.DecodeError:
            logger.warning("undecodable catalog invalidation; dropping the near cache")
            near.clear()
            return
        near.drop(dropped.product_ids, dropped.skus)

    async def _shared(
        self, key: str, load: Callable[[], Awaitable[CatalogRead]]
    ) -> tuple[Cached, tuple[str, ...]]:
        """The entry from Redis, loading and filling it on a miss; with its tags."""
        if not self._outage.should_try():
            return await self._flights.run(key, lambda: _uncached(load))
        try:
            hit = await self._get(key)
        except RedisFailure as error:
            self._outage.failed(error)
            return await self._flights.run(key, lambda: _uncached(load))
        self._outage.succeeded()
        if hit is not None:
            return hit
        return await self._flights.run(key, lambda: self._miss(key, load))

    async def _get(self, key: str) -> tuple[Cached, tuple[str, ...]] | None:
        value = await self._redis.get(self._prefix + f"entry:{key}")
        if value is None:
            return None
        raw = value if isinstance(value, bytes) else str(value).encode()
        etag, _, rest = raw.partition(b"\n")
        tags, _, body = rest.partition(b"\n")
        try:
            filed = tuple(msgspec.json.decode(tags, type=list[str]))
        except msgspec.DecodeError:  # an entry from before tags were kept: a miss
            return None
        return Cached(body, etag.decode()), filed

    async def _miss(
        self, key: str, load: Callable[[], Awaitable[CatalogRead]]
    ) -> tuple[Cached, tuple[str, ...]]:
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
        except RedisFailure as error:
            self._outage.failed(error)
            return await _uncached(load)
        # The holder did not fill it in time (slow, or gone): never wait longer than that.
        return await self._load(key, load)

    async def _release(self, lock: str, token: str) -> None:
        try:
            await self._unlock(keys=[lock], args=[token])
        except RedisFailure:  # it expires after lock_ms anyway
            logger.warning("could not release %s", lock, exc_info=True)

    async def _load(
        self, key: str, load: Callable[[], Awaitable[CatalogRead]]
    ) -> tuple[Cached, tuple[str, ...]]:
        try:
            started = int(await self._redis.get(self._prefix + "clock") or 0)
        except RedisFailure as error:
            self._outage.failed(error)
            return await _uncached(load)
        read = await load()
        result, tags = cached(read), tags_of(read)
        keys = [self._prefix + f"entry:{key}"]
        for tag in tags:
            keys += [self._prefix + f"dropped:{tag}", self._prefix + f"tag:{tag}"]
        value = b"\n".join([result.etag.encode(), msgspec.json.encode(tags), result.body])
        try:
            await self._fill(keys=keys, args=[value, self._ttl_ms, started])
        except RedisFailure as error:
            self._outage.failed(error)
        return result, tags


async def _uncached(load: Callable[[], Awaitable[CatalogRead]]) -> tuple[Cached, tuple[str, ...]]:
    read = await load()
    return cached(read), tags_of(read)
