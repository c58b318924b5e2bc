"""Stock levels as the storefront reads them, in SQL: the ledger's levels statement
(stock_reads.py), run on a pooled connection of its own by `driver_reads`, without a unit of
work. On PostgreSQL it goes to asyncpg with the SKUs as one array parameter, so its text is the
same for any number of SKUs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.driver_reads import Reads, reads_for
from adapters.db.stock_reads import levels_of, levels_statement
from shopcore.inventory.model import StockLevel

_BY_ARRAY = levels_statement(array=True)
_BY_LIST = levels_statement()


class SqlStockViews:
    def __init__(self, engine: AsyncEngine, *, reads: Reads | None = None) -> None:
        """`reads`: as for `SqlCatalogViews`."""
        self._reads = reads_for(engine) if reads is None else reads
        self._statement = _BY_ARRAY if engine.dialect.name == "postgresql" else _BY_LIST

    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        wanted = sorted(set(skus))
        if not wanted:
            return []
        return levels_of(await self._reads.rows(self._statement, {"skus": wanted, "now": now}))
