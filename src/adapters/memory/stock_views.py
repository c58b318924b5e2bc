"""Stock levels as the storefront reads them, over a `MemoryStore`: what a ledger of no unit of
work reads (the levels need no lock, and a read changes nothing to undo)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.memory.stock import MemoryStockLedger
from adapters.memory.store import MemoryStore
from shopcore.inventory.model import StockLevel


class MemoryStockViews:
    def __init__(self, store: MemoryStore) -> None:
        self._state = store.stock

    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        return await MemoryStockLedger(self._state).levels(skus, now)
