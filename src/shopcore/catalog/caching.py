"""What cached catalog reads are made of, shared by every CatalogCache adapter.

A cached read is the response body exactly as the API would send it uncached, with an ETag (a
hash of those bytes). The loader that produces a body also says what the body shows, and that
decides which changes drop it:

- a product list page shows products and their prices: any product change drops every page
  (tag `listing`), since a new, changed or archived product may move between pages;
- a product's detail shows the product (tag `product:<id>`, whether asked for by id or slug)
  and the units available of each variant (tags `sku:<sku>`): its own changes and the stock
  changes of its SKUs drop it.

`invalidate(product_ids, skus)` names what changed: `product_ids` for products whose content
changed (their details and every list page), `skus` for SKUs whose stock changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

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
