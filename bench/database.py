"""One-off statements on the bench's database (`shopcore_bench`, or the thin app's with
`dsn=config.THIN_DSN`), a connection each.

The bench asks PostgreSQL a handful of questions between load runs (how many orders were
confirmed, what the flash SKU's stock is, what is left in the outbox); a connection per
question costs a few milliseconds outside any measured interval, and keeps no pool open
beside the processes under test.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from bench import config


async def sql(query: str, *args: Any, dsn: str = config.ASYNCPG_DSN) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def sql_exec(query: str, *args: Any, dsn: str = config.ASYNCPG_DSN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()
