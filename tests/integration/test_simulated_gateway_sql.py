"""The SQL simulated gateway's waits and faults, staged for certain rather than left to chance
(the contract suite races calls and checks the outcome; here each interleaving is forced).

A transaction of the test holds a charge's row lock, as a call in flight in another process
would, while the gateway's own calls queue behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.engine import create_engine
from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.db.tables import simulated_gateway_charges as charges
from adapters.payments.simulated import APPROVE
from shopcore.shared.errors import PaymentGatewayUnavailable
from shopcore.shared.money import Money
from tests.support.databases import empty_postgres
from tests.support.waiting import eventually

AMOUNT = Money(4999, "EUR")


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await empty_postgres(postgres_url, pool_size=4)
    yield engine
    await engine.dispose()


async def authorized(gateway: SqlSimulatedGateway) -> str:
    answer = await gateway.authorize(AMOUNT, APPROVE, "order-1:authorize")
    assert answer.reference is not None
    return answer.reference


@asynccontextmanager
async def charge_locked(engine: AsyncEngine, reference: str) -> AsyncIterator[None]:
    """The charge's row stays locked until the block ends, then the lock is let go."""
    async with engine.connect() as connection:
        await connection.begin()
        await connection.execute(
            select(charges).where(charges.c.reference == reference).with_for_update()
        )
        try:
            yield
        finally:
            await connection.rollback()


async def queued(engine: AsyncEngine, count: int) -> bool:
    """Whether `count` sessions on this database wait for a lock right now."""
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(waiting or 0) == count


async def terminate_the_waiting(engine: AsyncEngine) -> None:
    """Drop the connections of the sessions waiting for a lock, as `pg_terminate_backend`
    (or a failover) does."""
    async with engine.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


@pytest.mark.postgres
async def test_a_call_queued_behind_its_key_replays_the_answer_it_waited_for(
    postgres: AsyncEngine,
) -> None:
    gateway = SqlSimulatedGateway(postgres)
    reference = await authorized(gateway)

    async with charge_locked(postgres, reference):
        # The first claims the key and waits on the charge; the second waits on the key.
        calls = [
            asyncio.create_task(SqlSimulatedGateway(postgres).capture(reference, AMOUNT, "cap"))
            for _ in range(2)
        ]
        await eventually(lambda: queued(postgres, 2))
    first, second = await asyncio.gather(*calls)

    assert first.approved is True
    assert second == first  # not the "cannot capture" a second capture would have met
    assert (await gateway.charges())[reference].captured == AMOUNT.amount


@pytest.mark.postgres
async def test_a_lock_held_past_the_wait_is_an_outage_and_leaves_the_key_free(
    postgres: AsyncEngine,
) -> None:
    gateway = SqlSimulatedGateway(postgres, lock_wait=timedelta(milliseconds=200))
    reference = await authorized(gateway)

    async with charge_locked(postgres, reference):
        with pytest.raises(PaymentGatewayUnavailable):
            await gateway.capture(reference, AMOUNT, "cap")

    retried = await gateway.capture(reference, AMOUNT, "cap")
    assert retried.approved is True


@pytest.mark.postgres
async def test_a_call_whose_connection_the_server_drops_is_an_outage_and_leaves_the_key_free(
    postgres: AsyncEngine,
) -> None:
    gateway = SqlSimulatedGateway(postgres)
    reference = await authorized(gateway)

    async with charge_locked(postgres, reference):
        call = asyncio.create_task(gateway.capture(reference, AMOUNT, "cap"))
        await eventually(lambda: queued(postgres, 1))
        await terminate_the_waiting(postgres)
        with pytest.raises(PaymentGatewayUnavailable):
            await call

    retried = await gateway.capture(reference, AMOUNT, "cap")
    assert retried.approved is True


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+asyncpg://postgres@127.0.0.1:1/shop", id="postgres-refused"),
        pytest.param("sqlite+aiosqlite:///{directory}", id="sqlite-unopenable"),
    ],
)
async def test_a_database_that_does_not_answer_is_a_gateway_outage(
    url: str, tmp_path: Path
) -> None:
    # Nothing listens on port 1; a directory is no SQLite file.
    engine = create_engine(url.format(directory=tmp_path), pool_timeout=1)
    try:
        with pytest.raises(PaymentGatewayUnavailable) as caught:
            await SqlSimulatedGateway(engine).authorize(AMOUNT, APPROVE, "order-1:authorize")
    finally:
        await engine.dispose()

    assert caught.value.code == "payment-gateway-unavailable"
