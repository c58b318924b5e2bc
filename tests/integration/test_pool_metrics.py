"""The database pool's wait, as /metrics shows it: a checkout that waits for a connection held
elsewhere is observed with its wait; the gauges show what the pool holds."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from adapters.db.engine import create_engine
from adapters.db.errors import translated
from shopcore.shared.errors import Busy
from tests.support.databases import empty_postgres

pytestmark = pytest.mark.postgres


def sample(name: str, pool: str) -> float:
    return REGISTRY.get_sample_value(name, {"pool": pool}) or 0.0


async def test_a_checkout_that_waits_for_a_connection_is_observed_with_its_wait(
    postgres_url: str,
) -> None:
    await (await empty_postgres(postgres_url, pool_size=1)).dispose()
    label = f"test-{secrets.token_hex(3)}"
    # pool_size 1: a fixed pool of 2 connections (engine.py).
    engine = create_engine(postgres_url, pool_size=1, pool_timeout=5, pool_label=label)
    try:
        held = [await engine.connect(), await engine.connect()]
        for connection in held:
            await connection.execute(text("SELECT 1"))
        assert sample("shopcore_db_pool_in_use", label) == 2
        assert sample("shopcore_db_pool_open", label) == 2
        assert sample("shopcore_db_pool_limit", label) == 2
        count = sample("shopcore_db_pool_wait_seconds_count", label)
        total = sample("shopcore_db_pool_wait_seconds_sum", label)

        async def release_later() -> None:
            await asyncio.sleep(0.3)
            await held[0].close()

        releasing = asyncio.create_task(release_later())
        async with engine.connect() as waited:  # waits for the release
            await waited.execute(text("SELECT 1"))
        await releasing

        assert sample("shopcore_db_pool_wait_seconds_count", label) == count + 1
        assert sample("shopcore_db_pool_wait_seconds_sum", label) - total >= 0.25
        await held[1].close()
        assert sample("shopcore_db_pool_in_use", label) == 0
        assert sample("shopcore_db_pool_open", label) == 2
    finally:
        await engine.dispose()


async def test_a_checkout_that_times_out_is_observed_too(postgres_url: str) -> None:
    await (await empty_postgres(postgres_url, pool_size=1)).dispose()
    label = f"test-{secrets.token_hex(3)}"
    engine = create_engine(postgres_url, pool_size=1, pool_timeout=1, pool_label=label)
    held = [await engine.connect(), await engine.connect()]
    try:
        with pytest.raises(Busy):
            async with translated():
                await engine.connect()
        assert sample("shopcore_db_pool_wait_seconds_count", label) == 3
        assert sample("shopcore_db_pool_wait_seconds_sum", label) >= 0.9
    finally:
        for connection in held:
            await connection.close()
        await engine.dispose()
