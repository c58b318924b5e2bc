"""The driver's own connection gives the read statements' rows exactly as SQLAlchemy does, on
SQLite and PostgreSQL, and a failure is reported in SQLAlchemy's terms (driver_reads.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.catalog_views import BY_KEY, _page_statement
from adapters.db.driver_reads import DriverReads, SqlReads
from adapters.db.product_pages import _PAGE
from adapters.db.stock_views import _BY_ARRAY, _BY_LIST
from adapters.db.unit_of_work import SqlUnitOfWork
from shopcore.catalog.model import Product, Variant
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.builders import eur
from tests.support.databases import empty_postgres, fresh_sqlite


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        created = await fresh_sqlite(tmp_path)
    else:
        created = await empty_postgres(request.getfixturevalue("postgres_url"), pool_size=2)
    yield created
    await created.dispose()


async def stocked_catalog(engine: AsyncEngine) -> list[Product]:
    """Two products (microsecond timestamps, non-ASCII attributes), one archived, and stock
    with a hold that lapses."""
    first = Product.create(
        id=new_id(),
        name="Ünïcode Tee",
        slug="unicode-tee",
        description="“quoted”",
        category="shirts",
        variants=(
            Variant(sku="TEE-S", price=eur(1999), attributes={"Farbe": "Grün", "size": "S"}),
            Variant(sku="TEE-M", price=eur(100_000_000)),
        ),
        currency=b.CURRENCY,
        now=b.START,
    )
    second = b.product(skus=["MUG-1"], prices=[900])
    second.archive(b.START + timedelta(days=1))
    async with SqlUnitOfWork(engine, lambda: b.START) as uow:
        await uow.products.add(first)
        await uow.products.add(second)
        await uow.stock.receive(b.movement("TEE-S", 10, at=b.START))
        await uow.stock.receive(b.movement("TEE-S", 4, at=b.START, location="berlin"))
        await uow.stock.reserve(b.reservation([("TEE-S", 3)], now=b.START), b.START)
        await uow.commit()
    return [first, second]


def statements(engine: AsyncEngine) -> list[tuple[Select[Any], dict[str, Any]]]:
    levels = _BY_ARRAY if engine.dialect.name == "postgresql" else _BY_LIST
    return [
        (_page_statement((True, False, False, False, False, False), 5), {}),
        (
            _page_statement((False, True, False, True, True, False), 3),
            {
                "before": "z",
                "pattern": "%tee%",
                "low": 1000,
            },
        ),
        (BY_KEY, {"key": "unicode-tee"}),
        (levels, {"skus": ["TEE-M", "TEE-S"], "now": b.START}),
        (levels, {"skus": ["TEE-S"], "now": b.START + b.HOLD * 2}),  # the hold has lapsed
        (_PAGE, {"key": "unicode-tee", "now": b.START}),
        (_PAGE, {"key": "unicode-tee", "now": b.START + b.HOLD * 2}),
    ]


async def test_the_driver_gives_the_rows_sqlalchemy_gives(engine: AsyncEngine) -> None:
    await stocked_catalog(engine)
    driver, sqlalchemy = DriverReads(engine), SqlReads(engine)

    for statement, parameters in statements(engine):
        expected = [tuple(row) for row in await sqlalchemy.rows(statement, parameters)]
        found = [tuple(row) for row in await driver.rows(statement, parameters)]
        assert found == expected
        assert expected  # every statement here finds something
        assert [type(value) for value in found[0]] == [type(value) for value in expected[0]]


async def test_a_failing_statement_is_reported_as_sqlalchemy_reports_it(
    engine: AsyncEngine,
) -> None:
    # A function that does not exist: a bug, reported as one (a missing table or column is
    # a schema behind the code's, which errors.py answers as Unavailable).
    broken = select(text("no_such_function() FROM products"))

    with pytest.raises(DBAPIError, match="no_such_function"):
        await DriverReads(engine).rows(broken, {})

    assert await DriverReads(engine).rows(BY_KEY, {"key": "nothing"}) == []
