"""What the catalog needs from the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgspec

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.catalog.caching import Cached, CatalogRead, cached
from shopcore.catalog.model import Product


class ProductFilter(msgspec.Struct, frozen=True, kw_only=True):
    category: str | None = None
    text: str | None = None  # case-insensitive match in name or description
    min_price: int | None = None  # minor units; a product matches if any variant is in range
    max_price: int | None = None
    include_archived: bool = False


class ProductRepository(Protocol):
    async def add(self, product: Product) -> None:
        """Stage a new product; raises AlreadyExists if its id, slug or a SKU is taken."""
        ...

    async def get(self, product_id: str) -> Product | None: ...

    async def get_by_slug(self, slug: str) -> Product | None: ...

    async def taken_skus(self, skus: Sequence[str], *, excluding: str | None = None) -> list[str]:
        """Which of `skus` belong to products other than `excluding`."""
        ...

    async def by_skus(self, skus: Sequence[str]) -> list[Product]:
        """The products (archived ones too) owning any of `skus`."""
        ...

    async def page(
        self, filters: ProductFilter, *, before: str | None, limit: int
    ) -> list[Product]:
        """Newest first: products whose id sorts below `before`, at most `limit`."""
        ...


class CatalogUnitOfWork(UnitOfWork, Protocol):
    @property
    def products(self) -> ProductRepository: ...


class CatalogCache(Protocol):
    """Cached catalog reads (product lists and details), dropped when what they show changes
    (`caching.py` says what drops what).

    Invalidation is idempotent by nature, so its handlers need no processed-event record."""

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        """The body cached under `key`, else `load()`ed (once, however many ask at the same
        time) and kept unless what it shows changed while it was loading. Exceptions from
        `load` propagate and nothing is kept."""
        ...

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None: ...


class NoCatalogCache:
    """No cache: every read loads (SHOPCORE_CATALOG_CACHE_SECONDS=0, and library use)."""

    async def read(self, key: str, load: Callable[[], Awaitable[CatalogRead]]) -> Cached:
        return cached(await load())

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        return None
