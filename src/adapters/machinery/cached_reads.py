"""Cached catalog reads: response bodies, their ETags and tags, and the read side of the cache.

A cached read is the response body exactly as the API would send it uncached, with an ETag (a
hash of those bytes). The loader that produces a body also says what the body shows, and that
decides which changes drop it:

- a product list page shows products and their prices: any product change drops every page
  (tag `listing`), since a new, changed or archived product may move between pages;
- a product's detail shows the product (tag `product:<id>`, whether asked for by id or slug)
  and the units available of each variant (tags `sku:<sku>`): its own changes and the stock
  changes of its SKUs drop it.

A cache has two sides, used by two parties. The core's `CatalogCache` port
(`shopcore.catalog.ports`) is the invalidating side: its handlers call
`invalidate(product_ids, skus)` with `product_ids` for products whose content changed (their
details and every list page) and `skus` for SKUs whose stock changed. `CatalogReads` is the
reading side, which only the HTTP controllers call: bodies and ETags are an HTTP concern the
core never sees. The memory and Redis caches implement both, and the composition root hands the
same object to the core's `Ports` and to the HTTP adapter's `ApiServices`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import msgspec

LISTING = "listing"


class CatalogRead(msgspec.Struct, frozen=True, kw_only=True):
    """A freshly loaded response and what it shows."""

    body: bytes
    product_ids: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()  # whose availability the body shows
    listing: bool = False


class Cached(msgspec.Struct, frozen=True):
    """A response body as a cache hands it out."""

    body: bytes
    etag: str


def etag_of(body: bytes) -> str:
    """A strong entity tag: equal bytes, equal tag."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cached(read: CatalogRead) -> Cached:
    return Cached(read.body, etag_of(read.body))


def tags_of(read: CatalogRead) -> tuple[str, ...]:
    """The tags a cached body is filed under."""
    tags = [LISTING] if read.listing else []
    tags += [f"product:{product_id}" for product_id in read.product_ids]
    tags += [f"sku:{sku}" for sku in read.skus]
    return tuple(dict.fromkeys(tags))


def dropped_by(product_ids: Iterable[str], skus: Iterable[str]) -> tuple[str, ...]:
    """The tags a change drops."""
    products = [f"product:{product_id}" for product_id in product_ids]
    tags = ([LISTING] if products else []) + products + [f"sku:{sku}" for sku in skus]
    return tuple(dict.fromkeys(tags))


def filed_as(body: bytes, tags: Iterable[str]) -> CatalogRead:
    """The read that `tags_of` files under `tags`: how a cache that kept only the body and its
    tags hands an entry to another cache layer."""
    product_ids: list[str] = []
    skus: list[str] = []
    listing = False
    for tag in tags:
        kind, _, name = tag.partition(":")
        if tag == LISTING:
            listing = True
        elif kind == "product":
            product_ids.append(name)
        elif kind == "sku":
            skus.append(name)
    return CatalogRead(body=body, product_ids=tuple(product_ids), skus=tuple(skus), listing=listing)


class CatalogReads(Protocol):
    """The reading side of a catalog cache, as the HTTP controllers call it."""

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        """The body cached under `key`, else `load()`ed (once, however many ask at the same
        time) and kept unless what it shows changed while it was loading. Exceptions from
        `load` propagate and nothing is kept."""
        ...

    def peek(self, key: str) -> Cached | None:
        """What `read(key, ...)` would answer now from this process's memory without loading
        or waiting, else None: lets the HTTP edge answer a hit before routing."""
        ...


class UncachedReads:
    """No cache (SHOPCORE_CATALOG_CACHE_SECONDS=0): every read loads, and an invalidation has
    nothing to drop. It serves both sides, like the caches it stands in for."""

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        return cached(await load())

    def peek(self, key: str) -> Cached | None:
        return None

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        return None
