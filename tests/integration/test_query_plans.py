"""The hot queries use indexes: on PostgreSQL with large tables, EXPLAIN every statement the
adapters send for a product listing and detail, an order listing, a stock reservation and the
storefront's stock levels, and fail on a sequential scan of a large table."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.catalog_views import SqlCatalogViews
from adapters.db.driver_reads import SqlReads
from adapters.db.stock_views import SqlStockViews
from adapters.db.unit_of_work import SqlUnitOfWork
from shopcore.catalog.ports import ProductFilter
from shopcore.inventory.model import Reservation, ReservationLine, ReservationStatus
from shopcore.shared.ids import new_id
from tests.support.databases import empty_postgres

pytestmark = pytest.mark.postgres

ROWS = 20_000
LARGE = {
    "products",
    "product_variants",
    "orders",
    "stock_levels",
    "reservations",
    "reservation_lines",
}
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

SEED = [
    f"""INSERT INTO products (id, version, slug, name, description, category, status,
        search_text, created_at, updated_at)
      SELECT lpad(n::text, 36, '0'), 1, 'product-' || n, 'Product ' || n, 'A product',
        'category-' || (n % 200), CASE WHEN n % 10 = 0 THEN 'archived' ELSE 'active' END,
        'product ' || n || ' a product', now(), now()
      FROM generate_series(1, {ROWS}) AS n""",
    f"""INSERT INTO product_variants (sku, product_id, position, price_amount, currency,
        attributes)
      SELECT 'SKU-' || n, lpad(n::text, 36, '0'), 0, 100 + n % 5000, 'EUR', '{{}}'
      FROM generate_series(1, {ROWS}) AS n""",
    f"""INSERT INTO orders (id, version, customer_id, cart_id, status, payment_id,
        total_amount, currency, body, created_at, updated_at)
      SELECT lpad(n::text, 36, '0'), 1, 'customer-' || (n % 2000), 'cart-' || n,
        'confirmed', NULL, 1000, 'EUR', '{{}}', now(), now()
      FROM generate_series(1, {ROWS}) AS n""",
    f"""INSERT INTO stock_levels (sku, location, on_hand, reserved, allocated)
      SELECT 'SKU-' || n, 'main', 1000, 2, 0 FROM generate_series(1, {ROWS}) AS n""",
    f"""INSERT INTO reservations (id, status, expires_at, created_at)
      SELECT 'r-' || n, CASE WHEN n % 50 = 0 THEN 'active' ELSE 'allocated' END,
        TIMESTAMPTZ '2026-11-25 13:00+00', TIMESTAMPTZ '2026-11-25 11:00+00'
      FROM generate_series(1, {ROWS}) AS n""",
    f"""INSERT INTO reservation_lines (reservation_id, sku, location, position, quantity, held)
      SELECT 'r-' || n, 'SKU-' || n, 'main', 0, 2, n % 50 = 0
      FROM generate_series(1, {ROWS}) AS n""",
]


@pytest.fixture
async def big_shop(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await empty_postgres(postgres_url, pool_size=2)
    async with engine.begin() as connection:
        for statement in SEED:
            await connection.execute(text(statement))
        await connection.execute(text("ANALYZE"))
    yield engine
    await engine.dispose()


def _seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in LARGE:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found.extend(_seq_scans(child))
    return found


async def _plans_of(
    engine: AsyncEngine, work: Callable[[SqlUnitOfWork], Awaitable[object]]
) -> list[tuple[str, list[str]]]:
    """Run `work` in a unit of work, then EXPLAIN each statement it sent (same parameters)."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            sent.append((statement, parameters))

    def logged(query: Any) -> None:
        # What the unit of work sent to asyncpg itself (driver_statements.py), which
        # SQLAlchemy's events do not see.
        record(None, None, query.query, tuple(query.args))

    def watch(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(engine.sync_engine, "checkout", watch)
    try:
        uow = SqlUnitOfWork(engine, now=lambda: NOW)
        async with uow:
            await work(uow)
        await asyncio.sleep(0)  # the query logger reports with call_soon
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        event.remove(engine.sync_engine, "checkout", watch)
    assert sent, "the work sent no statement to explain"
    results = []
    async with engine.connect() as connection:
        # Both plans a statement can run with: the custom one, planned for its values, and
        # the generic one PostgreSQL keeps for a prepared statement after five calls (what
        # the app's statements run with from then on).
        for mode in ("force_custom_plan", "force_generic_plan"):
            await connection.exec_driver_sql(f"SET plan_cache_mode = {mode}")
            for statement, parameters in sent:
                result = await connection.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) {statement}", parameters
                )
                document = result.scalar_one()
                found = json.loads(document) if isinstance(document, str) else document
                results.append((f"{mode}: {statement}", _seq_scans(found[0]["Plan"])))
        await connection.rollback()
    return results


def _assert_indexed(plans: list[tuple[str, list[str]]]) -> None:
    scanned = [(statement.split()[0:8], tables) for statement, tables in plans if tables]
    assert not scanned, f"sequential scans of large tables: {scanned}"


async def test_product_listing_pages_use_indexes(big_shop: AsyncEngine) -> None:
    # Through SQLAlchemy, whose events record the statements: the same text the driver gets.
    views = SqlCatalogViews(big_shop, reads=SqlReads(big_shop))

    async def listing(uow: SqlUnitOfWork) -> None:
        first = await views.page(ProductFilter(), before=None, limit=20)
        assert len(first) == 20
        await views.page(ProductFilter(), before=first[-1].id, limit=20)
        await views.page(ProductFilter(category="category-7"), before=None, limit=20)
        await views.page(
            ProductFilter(category="category-7", min_price=200, max_price=900),
            before=None,
            limit=20,
        )
        await views.page(ProductFilter(min_price=200, max_price=900), before=None, limit=20)
        assert await views.product("product-42") is not None
        assert await views.product(first[0].id) is not None
        await uow.products.get_by_slug("product-42")
        await uow.products.by_skus(["SKU-7", "SKU-8"])

    _assert_indexed(await _plans_of(big_shop, listing))


async def test_order_listing_pages_use_indexes(big_shop: AsyncEngine) -> None:
    async def listing(uow: SqlUnitOfWork) -> None:
        # The seeded rows carry no order body: only the statements matter here.
        with contextlib.suppress(msgspec.ValidationError):
            await uow.orders.page(customer_id="customer-7", status=None, before=None, limit=20)
        with contextlib.suppress(msgspec.ValidationError):
            await uow.orders.page(
                customer_id="customer-7", status=None, before="0" * 31 + "15007", limit=5
            )
        with contextlib.suppress(msgspec.ValidationError):
            await uow.orders.page(customer_id=None, status=None, before=None, limit=20)

    _assert_indexed(await _plans_of(big_shop, listing))


async def test_stock_reservation_statements_use_indexes(big_shop: AsyncEngine) -> None:
    views = SqlStockViews(big_shop, reads=SqlReads(big_shop))

    async def reserve(uow: SqlUnitOfWork) -> None:
        await uow.stock.levels(["SKU-50", "SKU-51"], NOW + timedelta(hours=2))
        assert len(await views.levels(["SKU-50", "SKU-51"], NOW + timedelta(hours=2))) == 2
        reservation = Reservation(
            id=new_id(),
            lines=(
                ReservationLine(sku="SKU-50", location="main", quantity=1),
                ReservationLine(sku="SKU-51", location="main", quantity=1),
            ),
            status=ReservationStatus.ACTIVE,
            expires_at=NOW + timedelta(minutes=15),
            created_at=NOW,
        )
        # Two hours on: SKU-50's old reservation has lapsed and is given back on the way.
        await uow.stock.reserve(reservation, NOW + timedelta(hours=2))
        await uow.stock.allocate(reservation.id, NOW + timedelta(hours=2))

    _assert_indexed(await _plans_of(big_shop, reserve))


async def test_a_cart_read_with_its_lines_prices_uses_indexes(big_shop: AsyncEngine) -> None:
    cart_id = new_id()
    body = {
        "lines": [
            {
                "sku": "SKU-50",
                "name": "P",
                "quantity": 1,
                "unit_price": {"amount": 150, "currency": "EUR"},
            },
            {
                "sku": "SKU-51",
                "name": "P",
                "quantity": 2,
                "unit_price": {"amount": 151, "currency": "EUR"},
            },
        ]
    }
    async with big_shop.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO carts (id, version, customer_id, currency, status, body, created_at,"
                " updated_at) VALUES (:id, 1, 'customer-1', 'EUR', 'open', CAST(:body AS jsonb),"
                " now(), now())"
            ),
            {"id": cart_id, "body": json.dumps(body)},
        )

    async def checkout_reads(uow: SqlUnitOfWork) -> None:
        cart = await uow.carts.get(cart_id)
        assert cart is not None
        prices = await uow.products.prices(["SKU-50", "SKU-51"])
        assert {sku: price.price.amount for sku, price in prices.items()} == {
            "SKU-50": 150,
            "SKU-51": 151,
        }

    plans = await _plans_of(big_shop, checkout_reads)

    assert any("line_prices" in statement for statement, _ in plans)
    _assert_indexed(plans)
