"""An overloaded database pool is a 503-shaped `Busy`, never an internal error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.db.engine import create_engine
from adapters.db.idempotency import SqlIdempotencyStore
from adapters.db.unit_of_work import SqlUnitOfWork
from shopcore.shared.errors import Busy
from tests.support.databases import empty_postgres

pytestmark = pytest.mark.postgres


async def test_a_unit_that_gets_no_connection_in_time_is_busy(postgres_url: str) -> None:
    await (await empty_postgres(postgres_url, pool_size=1)).dispose()
    engine = create_engine(postgres_url, pool_size=1, pool_timeout=0.2)
    held = [await engine.connect(), await engine.connect()]  # pool and overflow both taken
    try:
        uow = SqlUnitOfWork(engine, now=lambda: None)  # type: ignore[arg-type, return-value]
        async with uow:
            with pytest.raises(Busy) as caught:
                await uow.customers.get_by_email("nobody@example.com")
        assert caught.value.code == "busy"
    finally:
        for connection in held:
            await connection.close()
        await engine.dispose()


async def test_an_idempotency_key_that_gets_no_connection_in_time_is_busy(
    postgres_url: str,
) -> None:
    """The key is claimed on a connection of its own, before any unit of work: a flash sale
    that exhausts the pool must get 503s there too (it got 500s)."""
    await (await empty_postgres(postgres_url, pool_size=1)).dispose()
    engine = create_engine(postgres_url, pool_size=1, pool_timeout=0.2)
    held = [await engine.connect(), await engine.connect()]
    now = datetime.now(UTC)
    try:
        with pytest.raises(Busy):
            await SqlIdempotencyStore(engine).claim(
                "customer", "key", "fingerprint", now, now + timedelta(days=1)
            )
    finally:
        for connection in held:
            await connection.close()
        await engine.dispose()
