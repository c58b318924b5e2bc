"""Counts an operator alerts on, read for /metrics at each scrape: orders whose work is overdue
(past `settle_by`: the recovery job has yet to finish them, or keeps failing to)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.errors import translated
from adapters.db.tables import orders


async def overdue_orders(engine: AsyncEngine, now: datetime) -> int:
    query = select(func.count()).select_from(orders).where(orders.c.settle_by < now)
    async with translated(), engine.connect() as connection:
        found = await connection.scalar(query)
    return int(found or 0)
