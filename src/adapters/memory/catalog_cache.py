"""Cached catalog reads in the memory of one process (the embedded default, without Redis).

Invalidation reaches it only from the same process, which is where the embedded default runs
every event handler; several API processes without Redis would each keep a stale copy of the
others' changes, so `shopcore serve --workers N` turns this cache off there (apps/serving.py).

Concurrent misses of one key load once (single flight). A load that was running when an
invalidation dropped one of its tags is returned to its callers but not kept: it may have read
the state from before the change.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from adapters.machinery.cached_reads import Cached, CatalogRead, cached, dropped_by, tags_of
from adapters.machinery.single_flight import SingleFlight


@dataclass(frozen=True)
class _Entry:
    cached: Cached
    tags: tuple[str, ...]
    expires: float


class MemoryCatalogCache:
    def __init__(
        self,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        self._tagged: dict[str, set[str]] = {}
        self._generation = 0  # counts invalidations
        self._dropped_at: dict[str, int] = {}  # tag -> generation that last dropped it
        self._cleared_at = 0  # generation of the last `clear`
        self._flights: SingleFlight[Cached] = SingleFlight()

    def __len__(self) -> int:
        return len(self._entries)

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        entry = self._fresh(key)
        if entry is not None:
            return entry.cached
        return await self._flights.run(key, lambda: self._fill(key, load))

    def peek(self, key: str) -> Cached | None:
        entry = self._fresh(key)
        return None if entry is None else entry.cached

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        self.drop(product_ids, skus)

    def drop(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        """`invalidate`, callable without awaiting (it never waits for anything)."""
        self._generation += 1
        for tag in dropped_by(product_ids, skus):
            for key in self._tagged.pop(tag, set()):
                self._remove(key)
            if len(self._flights):  # only loads in flight need to know
                self._dropped_at[tag] = self._generation

    def clear(self) -> None:
        """Drop every entry, and keep none of the loads in flight: they may have read what a
        change nobody told this cache about has since replaced."""
        self._generation += 1
        self._cleared_at = self._generation
        self._entries.clear()
        self._tagged.clear()

    async def _fill(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        started = self._generation
        read = await load()
        result = cached(read)
        tags = tags_of(read)
        if self._cleared_at <= started and all(
            self._dropped_at.get(tag, 0) <= started for tag in tags
        ):
            self._store(key, _Entry(result, tags, self._monotonic() + self._ttl))
        if len(self._flights) <= 1:  # this is the last load in flight
            self._dropped_at.clear()
        return result

    def _fresh(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._monotonic():
            self._remove(key)
            return None
        return entry

    def _store(self, key: str, entry: _Entry) -> None:
        self._remove(key)
        while len(self._entries) >= self._max_entries:
            self._remove(next(iter(self._entries)))  # the oldest
        self._entries[key] = entry
        for tag in entry.tags:
            self._tagged.setdefault(tag, set()).add(key)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry.tags:
            keys = self._tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[tag]
