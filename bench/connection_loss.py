"""Two measurements behind the handling of dropped database connections (src/adapters/db/).

    .venv/bin/python -m bench.connection_loss pre-ping [UNITS]      (default 1,000)
    .venv/bin/python -m bench.connection_loss commit-cut [SECONDS]  (default 15)

`pre-ping`: what SQLAlchemy's `pool_pre_ping` costs per unit of work on the local PostgreSQL.
UNITS units of work of one read each (a customer looked up by email), one at a time and ten at
a time, with and without pre-ping, five runs each way; prints the medians.

`commit-cut`: whether a COMMIT that failed because its backend was terminated had committed
all the same. Four writers commit two-row transactions under a unique key while the
operator terminates every backend of the database every 20 ms; then every key whose COMMIT
raised is looked up.

Both work in a database of their own (`shopcore_bench_conn`, dropped and created each run, then
dropped), never touching the bench's or the tests' data, and terminate only its backends.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import text

from adapters.db.engine import create_engine
from adapters.db.migrate import upgrade
from adapters.db.unit_of_work import SqlUnitOfWork
from bench import config

NAME = "shopcore_bench_conn"
URL = f"postgresql+asyncpg://{config.PG_USER}@{config.PG_HOST}:{config.PG_PORT}/{NAME}"
ADMIN = f"postgresql://{config.PG_USER}@{config.PG_HOST}:{config.PG_PORT}/{config.PG_ADMIN_DB}"
TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _unit_cost(pre_ping: bool, concurrency: int, units: int) -> float:
    """Microseconds per unit of work of one read, `concurrency` at a time."""
    engine = create_engine(URL, pool_size=10)
    engine.pool._pre_ping = pre_ping  # what create_async_engine(pool_pre_ping=...) sets

    async def unit() -> None:
        async with SqlUnitOfWork(engine, lambda: datetime.now(UTC)) as uow:
            await uow.customers.get_by_email("nobody@example.com")

    async def client(count: int) -> None:
        for _ in range(count):
            await unit()

    try:
        await client(50)  # warm: the pool's connections, prepared statements
        each = units // concurrency
        started = time.perf_counter()
        await asyncio.gather(*(client(each) for _ in range(concurrency)))
        return (time.perf_counter() - started) / (each * concurrency) * 1e6
    finally:
        await engine.dispose()


async def pre_ping(units: int) -> None:
    for concurrency in (1, 10):
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(5):
            for on in (False, True):
                runs[on].append(await _unit_cost(on, concurrency, units))
        off, on = statistics.median(runs[False]), statistics.median(runs[True])
        print(
            f"{concurrency:>2} at a time, {units} units, median of 5: pre-ping off {off:,.0f} us "
            f"a unit, on {on:,.0f} us (+{on - off:,.0f} us, +{(on / off - 1) * 100:.0f} %)"
        )


async def commit_cut(seconds: float) -> None:
    engine = create_engine(URL, pool_size=4)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE marks (key text PRIMARY KEY, pad text)"))
    stop = time.monotonic() + seconds
    cut: list[str] = []
    committed = 0

    async def writer() -> None:
        nonlocal committed
        while time.monotonic() < stop:
            key = uuid.uuid4().hex
            try:
                async with engine.connect() as connection:
                    for suffix, pad in (("", "x" * 2000), ("-b", "y")):
                        await connection.execute(
                            text("INSERT INTO marks VALUES (:key, :pad)"),
                            {"key": key + suffix, "pad": pad},
                        )
                    try:
                        await connection.commit()
                        committed += 1
                    except Exception:
                        cut.append(key)
            except Exception:  # cut off before COMMIT: rolled back, not what we count
                continue

    async def operator() -> int:
        terminations = 0
        while time.monotonic() < stop:
            connection = await asyncpg.connect(URL.replace("+asyncpg", ""))
            try:
                await connection.fetchval(TERMINATE)
            finally:
                connection.terminate()
            terminations += 1
            await asyncio.sleep(0.02)
        return terminations

    results = await asyncio.gather(*(writer() for _ in range(4)), operator())
    await engine.dispose()
    checker = await asyncpg.connect(URL.replace("+asyncpg", ""))
    try:
        found = await checker.fetchval("SELECT count(*) FROM marks WHERE key = ANY($1)", cut)
    finally:
        await checker.close()
    print(
        f"{results[-1]} terminations in {seconds:.0f} s: {committed} COMMITs acknowledged, "
        f"{len(cut)} COMMITs failed, of which {found} had committed all the same"
    )


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    measurements: dict[str, Callable[[float], Awaitable[None]]] = {
        "pre-ping": lambda n: pre_ping(int(n or 1000)),
        "commit-cut": lambda n: commit_cut(n or 15.0),
    }
    if what not in measurements:
        sys.exit(__doc__)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{NAME}"'))
    try:
        upgrade(URL)
        asyncio.run(measurements[what](float(sys.argv[2]) if len(sys.argv) > 2 else 0))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
