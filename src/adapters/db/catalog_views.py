"""The catalog's read side in SQL: each read is one statement on a pooled connection of its
own, and its rows become `ProductView`s directly.

A listing page and a product come with their variants in the same statement (the page, or the
product, joined to `product_variants`), so a read is one round trip; the unit of work's path
took two (products, then their variants) and built aggregates with a copy of each for change
tracking, which a read never uses. The statements are built once per shape of filter and kept:
SQLAlchemy then finds each one's compiled form by a key it computed once, instead of building
and walking a new statement object per request.

The page size and the status are written into the statement's text, not sent as parameters.
PostgreSQL plans a prepared statement with parameters afresh at each execution while the plan
it would keep (one for any LIMIT) looks worse than a fresh one, and for this listing it always
does: on the bench's catalog a page cost the server 740-840 us per execution with a parameter
LIMIT and 320-400 us with LIMIT 21 in the text (asyncpg, one connection, 300 runs). Each page
size is then a statement of its own, prepared once per connection and planned once.

On PostgreSQL the connection runs in autocommit, so a read sends its SELECT and nothing else
(no BEGIN, no ROLLBACK); one statement is consistent on its own. On SQLite it reads in a
deferred transaction like the unit of work's reader (engine.py), never taking the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, bindparam, exists, literal, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import tables
from adapters.db.engine import is_sqlite
from adapters.db.errors import translated
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
_ACTIVE = ProductStatus.ACTIVE.value

# Which filters a page statement applies: (include_archived, before, category, text, min, max).
_Shape = tuple[bool, bool, bool, bool, bool, bool]
_PAGES: dict[_Shape, Select[Any]] = {}


def _page_statement(shape: _Shape) -> Select[Any]:
    statement = _PAGES.get(shape)
    if statement is None:
        statement = _PAGES[shape] = _build_page(*shape)
    return statement


def _build_page(
    include_archived: bool, before: bool, category: bool, text: bool, low: bool, high: bool
) -> Select[Any]:
    """The page's products (newest first, LIMIT applied to products, not rows) joined to their
    variants. The same indexes serve it as served the unit of work's two statements."""
    page = select(*_PRODUCT_COLUMNS).order_by(_products.c.id.desc())
    if not include_archived:
        page = page.where(_products.c.status == literal(_ACTIVE, literal_execute=True))
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
    chosen = page.limit(bindparam("limit", type_=Integer, literal_execute=True)).subquery("page")
    return (
        select(chosen, *_VARIANT_COLUMNS)
        .join_from(chosen, _variants, _variants.c.product_id == chosen.c.id)
        .order_by(chosen.c.id.desc(), _variants.c.position)
    )


# An id or a slug: both unique, so at most two products, the id's first (see `product`).
_BY_KEY = (
    select(*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS)
    .join_from(_products, _variants, _variants.c.product_id == _products.c.id)
    .where(or_(_products.c.id == bindparam("key"), _products.c.slug == bindparam("key")))
    .order_by(_products.c.id, _variants.c.position)
)


class SqlCatalogViews:
    def __init__(self, engine: AsyncEngine) -> None:
        if is_sqlite(engine):
            self._engine = engine.execution_options(shopcore_read_only=True)
        else:
            self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        parameters: dict[str, Any] = {"limit": limit}
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
        return _views(await self._rows(_page_statement(shape), parameters))

    async def product(self, id_or_slug: str) -> ProductView | None:
        found = _views(await self._rows(_BY_KEY, {"key": id_or_slug}))
        for view in found:
            if view.id == id_or_slug:
                return view
        return found[0] if found else None

    async def _rows(self, statement: Select[Any], parameters: dict[str, Any]) -> Sequence[Any]:
        async with translated(), self._engine.connect() as connection:
            rows: Sequence[Row[Any]] = (await connection.execute(statement, parameters)).all()
        return rows


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _views(rows: Sequence[Any]) -> list[ProductView]:
    """Rows of (product columns, variant columns), a product's rows together and its variants
    in their order, folded into one view per product."""
    views: list[ProductView] = []
    current: str | None = None
    head: Any = None
    variants: list[Variant] = []
    for row in rows:
        product_id = row[0]
        sku, amount, currency, attributes = row[8:]
        if product_id != current:
            if head is not None:
                views.append(_view(head, variants))
            current, head, variants = product_id, row, []
        variants.append(Variant(sku=sku, price=Money(amount, currency), attributes=attributes))
    if head is not None:
        views.append(_view(head, variants))
    return views


def _view(head: Any, variants: list[Variant]) -> ProductView:
    product_id, slug, name, description, category, status, created_at, updated_at = head[:8]
    return ProductView(
        id=product_id,
        slug=slug,
        name=name,
        description=description,
        category=category,
        status=ProductStatus(status),
        variants=tuple(variants),
        created_at=created_at,
        updated_at=updated_at,
    )
