"""The transactional outbox: a commit writes its events as rows in the same transaction; a
rollback or a failed commit writes none. (The memory adapter's outbox is its committed-events
list; the contract suites cover that side.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, select

from adapters.db.tables import outbox
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict
from tests.contracts import builders as b
from tests.contracts.backends import SqlBackend
from tests.contracts.builders import read
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


async def _two_changed(sql: SqlBackend) -> tuple[str, str]:
    """A cart and an order, stored: their ids."""
    order = b.order()
    cart = b.cart(customer_id=order.customer_id, lines={"TEE-M": 2})
    async with sql.uow() as uow:
        await uow.orders.add(order)
        await uow.carts.add(cart)
        await uow.commit()
    return cart.id, order.id


async def test_a_commit_of_several_rows_and_events_is_one_statement_on_postgresql(
    sql: SqlBackend,
) -> None:
    """flush_in_one.py: the UPDATEs and the outbox rows of a commit go in one statement."""
    cart_id, order_id = await _two_changed(sql)
    before = await _rows(sql)
    sent: list[str] = []

    def logged(query: Any) -> None:
        sent.append(query.query)

    def watch(dbapi_connection: Any, *args: Any) -> None:
        if sql.name == "postgres":  # what the unit sends to asyncpg itself
            dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(sql.engine.sync_engine, "checkout", watch)
    try:
        async with sql.uow() as uow:
            cart = await uow.carts.get(cart_id)
            order = await uow.orders.get(order_id)
            assert cart is not None and order is not None
            cart.begin_checkout(order_id, b.START, b.HOLD)
            order.confirm("payment-1", b.START)
            sent.clear()
            await uow.commit()
        await asyncio.sleep(0)  # the query logger reports with call_soon
    finally:
        event.remove(sql.engine.sync_engine, "checkout", watch)

    stored_cart = await read(sql, lambda uow: uow.carts.get(cart_id))
    stored_order = await read(sql, lambda uow: uow.orders.get(order_id))
    assert stored_cart == cart and stored_order == order
    assert [row["event_type"] for row in (await _rows(sql))[len(before) :]] == ["OrderPlaced"]
    if sql.name == "postgres":
        writes = [text for text in sent if "UPDATE" in text or "INSERT" in text]
        assert len(writes) == 1, sent
        assert all(
            part in writes[0] for part in ("UPDATE carts", "UPDATE orders", "INSERT INTO outbox")
        )


async def test_a_commit_whose_last_row_lost_its_version_check_writes_no_row_and_no_event(
    sql: SqlBackend,
) -> None:
    cart_id, order_id = await _two_changed(sql)
    before = await _rows(sql)
    stored_before = await read(sql, lambda uow: uow.carts.get(cart_id))

    first, second = sql.uow(), sql.uow()
    async with first, second:
        their_order = await first.orders.get(order_id)
        cart = await second.carts.get(cart_id)
        order = await second.orders.get(order_id)
        assert their_order is not None and cart is not None and order is not None
        their_order.cancel("customer request", b.START)
        await first.commit()
        # The cart's UPDATE comes first and succeeds; the order's finds another version.
        cart.begin_checkout(order_id, b.START, b.HOLD)
        order.confirm("payment-1", b.START)
        with pytest.raises(ConcurrencyConflict):
            await second.commit()

    assert await read(sql, lambda uow: uow.carts.get(cart_id)) == stored_before
    assert [row["event_type"] for row in (await _rows(sql))[len(before) :]] == ["OrderCancelled"]


async def test_a_new_order_goes_in_with_the_commits_one_statement_on_postgresql(
    sql: SqlBackend,
) -> None:
    """A checkout's first commit: the new order's INSERT joins the cart's UPDATE (and the
    outbox rows: flush_in_one.py) in one statement (Session.stage), and nothing of it is
    sent before the commit."""
    cart = b.cart(lines={"TEE-M": 2})
    async with sql.uow() as uow:
        await uow.carts.add(cart)
        await uow.commit()
    order = b.order(customer_id=cart.customer_id)
    sent: list[str] = []

    def logged(query: Any) -> None:
        sent.append(query.query)

    def watch(dbapi_connection: Any, *args: Any) -> None:
        if sql.name == "postgres":
            dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(sql.engine.sync_engine, "checkout", watch)
    try:
        async with sql.uow() as uow:
            mine = await uow.carts.get(cart.id)
            assert mine is not None
            await uow.orders.add(order)
            await asyncio.sleep(0)
            before_commit = [text for text in sent if "INSERT INTO orders" in text]
            assert await uow.orders.get(order.id) is order  # the unit knows it meanwhile
            mine.begin_checkout(order.id, b.START, b.HOLD)
            await uow.commit()
        await asyncio.sleep(0)
    finally:
        event.remove(sql.engine.sync_engine, "checkout", watch)

    stored = await read(sql, lambda uow: uow.orders.get(order.id))
    assert stored == order and stored is not None and stored.version == order.version == 1
    assert await read(sql, lambda uow: uow.carts.get(cart.id)) == mine
    if sql.name == "postgres":
        assert before_commit == []
        writes = [text for text in sent if "UPDATE" in text or "INSERT" in text]
        assert len(writes) == 1, sent
        assert "INSERT INTO orders" in writes[0] and "UPDATE carts" in writes[0], writes[0]


async def test_a_new_order_whose_id_is_taken_fails_the_commit_and_keeps_nothing(
    sql: SqlBackend,
) -> None:
    """A resubmitted checkout: its order's clash is AlreadyExists, at `add` or at the commit
    (staged on PostgreSQL), and the cart's change and the events of that commit are lost
    with it."""
    cart_id, order_id = await _two_changed(sql)
    before = await _rows(sql)
    stored_cart = await read(sql, lambda uow: uow.carts.get(cart_id))
    again = b.order(id=order_id)

    with pytest.raises(AlreadyExists):
        async with sql.uow() as uow:
            cart = await uow.carts.get(cart_id)
            assert cart is not None
            await uow.orders.add(again)
            cart.begin_checkout(order_id, b.START, b.HOLD)
            await uow.commit()

    assert await read(sql, lambda uow: uow.carts.get(cart_id)) == stored_cart
    assert await _rows(sql) == before
