"""What the catalog needs from the outside world."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.catalog.model import Product
from shopcore.catalog.views import ProductView, SkuPrice


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

    async def prices(self, skus: Sequence[str]) -> Mapping[str, SkuPrice]:
        """Each known SKU of `skus` (archived products' too, not sellable) as stored now:
        read as values, so nothing is loaded or tracked (a checkout prices its cart in the
        unit that then holds it, and reads no whole product for that). Unknown ones are
        absent."""
        ...


class CatalogUnitOfWork(UnitOfWork, Protocol):
    @property
    def products(self) -> ProductRepository: ...


class CatalogViews(Protocol):
    """The catalog's read side: products as shoppers see them, read as they are stored now,
    each call on its own (no unit of work: a read changes nothing, so nothing is tracked)."""

    async def page(
        self, filters: ProductFilter, *, before: str | None, limit: int
    ) -> Sequence[ProductView]:
        """Newest first: products matching `filters` whose id sorts below `before`, at most
        `limit`, each with its variants in their order."""
        ...

    async def product(self, id_or_slug: str) -> ProductView | None:
        """The product whose id is `id_or_slug`, else the one whose slug it is, archived or
        not (a slug may look like an id, and the id wins)."""
        ...


class CatalogCache(Protocol):
    """What the catalog needs of a cache of its reads (product lists and details): to drop
    what a change makes stale. Reading cached bodies is the HTTP adapter's business
    (`adapters.machinery.cached_reads` says what is cached and what drops what); the core only
    says what changed.

    Invalidation is idempotent by nature, so its handlers need no processed-event record."""

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        """Drop what shows these products' content (their details and every list page) or
        these SKUs' availability (their products' details)."""
        ...


class NoCatalogCache:
    """No cache, nothing to drop (the default of `Ports`, for library use)."""

    async def invalidate(self, product_ids: Sequence[str], skus: Sequence[str]) -> None:
        return None
