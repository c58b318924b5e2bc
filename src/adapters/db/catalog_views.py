"""The catalog's read side in SQL: each read is one statement on a pooled connection of its
own, and its rows become `ProductView`s directly.

A listing page and a product come with their variants in the same statement (the page, or the
product, joined to `product_variants`), so a read is one round trip; the unit of work's path
took two (products, then their variants) and built aggregates with a copy of each for change
tracking, which a read never uses. The statements are built once per shape of filter (and page
size) and kept, and run by `driver_reads`: on PostgreSQL straight on asyncpg, elsewhere through
SQLAlchemy, which then finds each one's compiled form by a key it computed once.

The page size and the status are written into the statement's text, not sent as parameters.
PostgreSQL plans a prepared statement with parameters afresh at each execution while the plan
it would keep (one for any LIMIT) looks worse than a fresh one, and for this listing it always
does: on the bench's catalog a page cost the server 740-840 us per execution with a parameter
LIMIT and 320-400 us with LIMIT 21 in the text (asyncpg, one connection, 300 runs). Each page
size is then a statement of its own, prepared once per connection and planned once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, exists, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import tables
from adapters.db.driver_reads import Reads, reads_for
from shopcore.catalog.model import ProductStatus, Variant
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.views import ProductView
from shopcore.shared.money import Money

_products, _variants = tables.products, tables.product_variants
_PRODUCT_COLUMNS = (
    _products.c.id,
    _products.c.slug,
    _products.c.name,
    _products.c.description,
    _products.c.category,
    _products.c.status,
    _products.c.created_at,
    _products.c.updated_at,
)
_VARIANT_COLUMNS = (
    _variants.c.sku,
    _variants.c.price_amount,
    _variants.c.currency,
    _variants.c.attributes,
)
_ACTIVE_TEXT = literal_column(f"'{ProductStatus.ACTIVE.value}'", String)

# Which filters a page statement applies: (include_archived, before, category, text, min, max).
_Shape = tuple[bool, bool, bool, bool, bool, bool]


@functools.lru_cache(maxsize=256)
def _page_statement(shape: _Shape, limit: int) -> Select[Any]:
    """The page's products (newest first, at most `limit`: products, not rows) joined to their
    variants. The same indexes serve it as served the unit of work's two statements."""
    include_archived, before, category, text, low, high = shape
    page = select(*_PRODUCT_COLUMNS).order_by(_products.c.id.desc())
    if not include_archived:
        page = page.where(_products.c.status == _ACTIVE_TEXT)
    if before:
        page = page.where(_products.c.id < bindparam("before"))
    if category:
        page = page.where(_products.c.category == bindparam("category"))
    if text:
        page = page.where(_products.c.search_text.like(bindparam("pattern"), escape="\\"))
    if low or high:
        # Any variant in range; an alias, so the join below cannot take it over.
        priced = _variants.alias("priced")
        in_range = priced.c.product_id == _products.c.id
        if low:
            in_range = in_range & (priced.c.price_amount >= bindparam("low"))
        if high:
            in_range = in_range & (priced.c.price_amount <= bindparam("high"))
        page = page.where(exists().where(in_range))
    chosen = page.limit(literal_column(str(int(limit)), Integer)).subquery("page")
    return (
        select(chosen, *_VARIANT_COLUMNS)
        .join_from(chosen, _variants, _variants.c.product_id == chosen.c.id)
        .order_by(chosen.c.id.desc(), _variants.c.position)
    )


# An id or a slug: both unique, so at most two products, the id's first (see `pick`).
BY_KEY = (
    select(*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS)
    .join_from(_products, _variants, _variants.c.product_id == _products.c.id)
    .where(or_(_products.c.id == bindparam("key"), _products.c.slug == bindparam("key")))
    .order_by(_products.c.id, _variants.c.position)
)


class SqlCatalogViews:
    def __init__(self, engine: AsyncEngine, *, reads: Reads | None = None) -> None:
        """`reads`: how the statements run, the engine's fastest way unless given (the query
        plan tests give `SqlReads`, whose statements SQLAlchemy's events see)."""
        self._reads = reads_for(engine) if reads is None else reads

    async def page(
        self, filters: ProductFilter, *, before: str | None, limit: int
    ) -> list[ProductView]:
        shape: _Shape = (
            filters.include_archived,
            before is not None,
            filters.category is not None,
            filters.text is not None,
            filters.min_price is not None,
            filters.max_price is not None,
        )
        parameters: dict[str, Any] = {}
        if before is not None:
            parameters["before"] = before
        if filters.category is not None:
            parameters["category"] = filters.category
        if filters.text is not None:
            parameters["pattern"] = f"%{_escape_like(filters.text.casefold())}%"
        if filters.min_price is not None:
            parameters["low"] = filters.min_price
        if filters.max_price is not None:
            parameters["high"] = filters.max_price
        return views_of(await self._reads.rows(_page_statement(shape, limit), parameters))

    async def product(self, id_or_slug: str) -> ProductView | None:
        return pick(views_of(await self._reads.rows(BY_KEY, {"key": id_or_slug})), id_or_slug)


def pick(found: Sequence[ProductView], id_or_slug: str) -> ProductView | None:
    """Of the products found by id or slug, the one whose id it is, else the one whose slug."""
    for view in found:
        if view.id == id_or_slug:
            return view
    return found[0] if found else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def views_of(rows: Sequence[Any]) -> list[ProductView]:
    """Rows of (product columns, variant columns), a product's rows together and its variants
    in their order, folded into one view per product."""
    views: list[ProductView] = []
    head: Any = None
    variants: list[Variant] = []
    for row in rows:
        if head is None or row[0] != head[0]:
            if head is not None:
                views.append(_view(head, variants))
            head, variants = row, []
        variants.append(Variant(sku=row[8], price=Money(row[9], row[10]), attributes=row[11]))
    if head is not None:
        views.append(_view(head, variants))
    return views


_STATUSES = {status.value: status for status in ProductStatus}


def _view(head: Any, variants: list[Variant]) -> ProductView:
    return ProductView(
        id=head[0],
        slug=head[1],
        name=head[2],
        description=head[3],
        category=head[4],
        status=_STATUSES[head[5]],
        variants=tuple(variants),
        created_at=head[6],
        updated_at=head[7],
    )
