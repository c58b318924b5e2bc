"""The transactional outbox: a commit writes its events as rows in the same transaction; a
rollback or a failed commit writes none. (The memory adapter's outbox is its committed-events
list; the contract suites cover that side.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select

from adapters.db.tables import outbox
from shopcore.shared.errors import ConcurrencyConflict
from tests.contracts import builders as b
from tests.contracts.backends import SqlBackend
from tests.support.databases import empty_postgres, fresh_sqlite


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def sql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlBackend]:
    if request.param == "sqlite":
        engine = await fresh_sqlite(tmp_path)
    else:
        engine = await empty_postgres(request.getfixturevalue("postgres_url"), pool_size=4)
    backend = SqlBackend(request.param, engine)
    yield backend
    await engine.dispose()


async def _rows(sql: SqlBackend) -> list[dict[str, object]]:
    async with sql.engine.connect() as connection:
        result = await connection.execute(select(outbox).order_by(outbox.c.id))
        return [dict(row) for row in result.mappings()]


async def test_a_commit_writes_its_events_to_the_outbox_in_order(sql: SqlBackend) -> None:
    product = b.product()
    customer = b.customer()
    expected = [*product.events, *customer.events]
    assert expected, "the builders' aggregates record creation events"

    async with sql.uow() as uow:
        await uow.products.add(product)
        await uow.customers.add(customer)
        await uow.commit()

    rows = await _rows(sql)
    assert [row["event_id"] for row in rows] == [event.event_id for event in expected]
    assert [row["event_type"] for row in rows] == [type(e).__name__ for e in expected]
    assert all(row["published_at"] is None for row in rows)
    decoded = [
        msgspec.json.decode(str(row["payload"]), type=type(e))
        for row, e in zip(rows, expected, strict=True)
    ]
    assert decoded == expected


async def test_leaving_without_commit_writes_no_outbox_row(sql: SqlBackend) -> None:
    async with sql.uow() as uow:
        await uow.products.add(b.product())

    assert await _rows(sql) == []


async def test_a_failed_commit_writes_no_outbox_row(sql: SqlBackend) -> None:
    product = b.product()
    async with sql.uow() as uow:
        await uow.products.add(product)
        await uow.commit()
    before = await _rows(sql)

    first, second = sql.uow(), sql.uow()
    async with first, second:
        mine = await first.products.get(product.id)
        theirs = await second.products.get(product.id)
        assert mine is not None and theirs is not None
        mine.archive(b.START)
        theirs.archive(b.START)
        await second.commit()
        with pytest.raises(ConcurrencyConflict):
            await first.commit()

    after = await _rows(sql)
    assert len(after) == len(before) + 1  # only the winner's ProductArchived
