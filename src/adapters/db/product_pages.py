"""The product page in one statement: the product and its variants, as `catalog_views` reads
them, each variant row with its SKU's units available now, as `stock_views` reads the levels
(`reserved` without the holds that lapsed by `now`, summed over the locations). The composed
read (`adapters.machinery.product_pages`) took two statements on two pooled connections; the
contract suite holds the two to the same answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import tables
from adapters.db.catalog_views import BY_KEY, pick, views_of
from adapters.db.driver_reads import Reads, reads_for
from shopcore.inventory.model import ReservationStatus
from shopcore.storefront import ProductPage

_levels, _lines, _reservations = tables.stock_levels, tables.reservation_lines, tables.reservations
_variants = tables.product_variants

_stocked = (
    select(func.coalesce(func.sum(_levels.c.on_hand - _levels.c.reserved - _levels.c.allocated), 0))
    .where(_levels.c.sku == _variants.c.sku)
    .scalar_subquery()
)
# Units still counted as reserved on the rows whose hold lapsed by `now` (no statement has
# un-held them yet): available again.
_lapsed = (
    select(func.coalesce(func.sum(_lines.c.quantity), 0))
    .select_from(_lines.join(_reservations, _reservations.c.id == _lines.c.reservation_id))
    .where(
        _lines.c.sku == _variants.c.sku,
        _lines.c.held.is_(True),
        _reservations.c.status == ReservationStatus.ACTIVE.value,
        _reservations.c.expires_at <= bindparam("now"),
    )
    .scalar_subquery()
)
_PAGE: Select[Any] = BY_KEY.add_columns((_stocked + _lapsed).label("available"))
_AVAILABLE = len(_PAGE.selected_columns) - 1


class SqlProductPages:
    def __init__(self, engine: AsyncEngine, *, reads: Reads | None = None) -> None:
        """`reads`: as for `SqlCatalogViews`."""
        self._reads = reads_for(engine) if reads is None else reads

    async def page(self, id_or_slug: str, now: datetime) -> ProductPage | None:
        rows = await self._reads.rows(_PAGE, {"key": id_or_slug, "now": now})
        product = pick(views_of(rows), id_or_slug)
        if product is None:
            return None
        available = {row[8]: int(row[_AVAILABLE]) for row in rows if row[0] == product.id}
        return ProductPage(product, available)
