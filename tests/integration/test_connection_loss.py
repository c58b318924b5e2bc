"""Connections the database server drops (`pg_terminate_backend`, a restart, a failover) are a
transient fault: noticed, thrown away with the pool's older connections, translated into
`ConnectionLost`, retried by the bus on a fresh connection; never a driver's exception.

Each test works on a database of its own and terminates only that database's backends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, bindparam, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.catalog_views import SqlCatalogViews
from adapters.db.driver_reads import DriverReads
from adapters.db.engine import create_engine
from adapters.db.errors import translated
from adapters.db.idempotency import SqlIdempotencyStore
from adapters.db.lone_statements import LoneStatements
from adapters.db.outbox import SqlOutboxSource
from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.memory.hasher import FastInsecureHasher
from adapters.payments.simulated import APPROVE
from apps.api import database_answers
from apps.components import Components
from shopcore import Busy, ConnectionLost, CreateProduct, Money, ReceiveStock, Variant
from shopcore.application.idempotency import Started
from shopcore.bootstrap import Shop
from shopcore.catalog.ports import ProductFilter
from shopcore.inventory.model import DEFAULT_LOCATION, MovementKind, StockMovement
from shopcore.inventory.queries import stock_levels
from shopcore.shared.errors import AlreadyExists, PaymentGatewayUnavailable
from tests.support.api import test_settings
from tests.support.terminations import Operator, private_postgres

pytestmark = pytest.mark.postgres

POOL = 4
SKU = "LOSS-1"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with private_postgres() as url:
        yield url


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=POOL)
    yield engine
    await engine.dispose()


@pytest.fixture
async def shop(url: str) -> AsyncIterator[Shop]:
    components = Components(
        test_settings(url, database_pool_size=POOL), hasher=FastInsecureHasher()
    )
    try:
        yield components.shop
    finally:
        await components.aclose()


async def read_something(engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(engine, now) as uow:
        await uow.customers.get_by_email("nobody@example.com")


async def fill_the_pool(engine: AsyncEngine) -> None:
    """Open POOL connections at once, so that the pool keeps that many."""

    async def hold() -> None:
        async with SqlUnitOfWork(engine, now) as uow:
            await uow.customers.get_by_email("nobody@example.com")
            await asyncio.sleep(0.05)

    await asyncio.gather(*(hold() for _ in range(POOL)))


async def on_hand(shop: Shop, sku: str) -> int:
    """A read outside the bus, so not retried by it: the shop's own pool lost its connections
    to the same terminations, and its first read after them may find that out (a client
    would be told 503 and ask again)."""
    try:
        levels = await stock_levels(shop.ports.stock_views, [sku], now())
    except ConnectionLost:
        levels = await stock_levels(shop.ports.stock_views, [sku], now())
    return sum(level.on_hand for level in levels)


async def stocked_product(shop: Shop, sku: str, quantity: int) -> None:
    await shop.handle(
        CreateProduct(
            name=f"Product {sku}",
            slug=sku.lower(),
            category="shirts",
            description="A product for connection-loss tests",
            variants=(Variant(sku=sku, price=Money(1000, "EUR")),),
        )
    )
    await shop.handle(ReceiveStock(sku=sku, quantity=quantity))


async def test_after_every_connection_is_dropped_only_the_first_unit_finds_out(
    engine: AsyncEngine, url: str
) -> None:
    """No pre-ping: the first unit of work meets a dead connection. It invalidates the whole
    pool, so every unit after it gets a fresh connection instead of the next dead one."""
    await fill_the_pool(engine)
    assert await Operator(url).terminate_all() >= POOL

    with pytest.raises(ConnectionLost):
        await read_something(engine)
    for _ in range(2 * POOL):
        await read_something(engine)


async def test_a_statement_cut_off_mid_flight_is_connection_lost_and_the_unit_exits_cleanly(
    shop: Shop, engine: AsyncEngine, url: str
) -> None:
    await stocked_product(shop, "LOSS-2", 10)
    operator = Operator(url)
    movement = StockMovement(
        sku="LOSS-2",
        location=DEFAULT_LOCATION,
        kind=MovementKind.RECEIVED,
        delta=5,
        reason="received",
        at=now(),
    )

    async def receive() -> None:
        async with SqlUnitOfWork(engine, now) as uow:
            await uow.stock.receive(movement)  # waits for the operator's row lock
            await uow.commit()

    async with operator.locking("SELECT 1 FROM stock_levels WHERE sku = 'LOSS-2' FOR UPDATE"):
        receiving = asyncio.create_task(receive())
        await operator.until_a_statement_waits_for_a_lock()
        await operator.terminate_all()
        with pytest.raises(ConnectionLost):
            await receiving

    await read_something(engine)
    assert await on_hand(shop, "LOSS-2") == 10  # the cut-off transaction left nothing behind


async def test_a_command_cut_off_by_a_termination_is_run_again_and_applies_once(
    shop: Shop, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await stocked_product(shop, SKU, 10)
    operator = Operator(url)

    with caplog.at_level(logging.INFO, logger="shopcore.bus"):
        async with operator.locking(f"SELECT 1 FROM stock_levels WHERE sku = '{SKU}' FOR UPDATE"):
            receiving = asyncio.create_task(shop.handle(ReceiveStock(sku=SKU, quantity=5)))
            await operator.until_a_statement_waits_for_a_lock()
            await operator.terminate_all()  # the command's backend, and the lock's holder
            await receiving

    assert await on_hand(shop, SKU) == 15
    assert any("connection was lost" in record.getMessage() for record in caplog.records)


async def test_commands_under_repeated_terminations_succeed_or_are_busy_and_none_is_lost(
    shop: Shop, url: str
) -> None:
    """Every connection dropped every 30 ms for a second and a half, while four clients send
    stock receipts: each receipt either succeeds (once) or fails as Busy (not at all), and
    nothing else escapes."""
    await stocked_product(shop, "LOSS-3", 1)
    operator = Operator(url)
    outcomes: list[str] = []
    loop = asyncio.get_running_loop()
    until = loop.time() + 1.5

    async def client() -> None:
        while loop.time() < until:
            try:
                await shop.handle(ReceiveStock(sku="LOSS-3", quantity=1))
                outcomes.append("received")
            except Busy:
                outcomes.append("busy")

    async with operator.terminating(every=0.03):
        await asyncio.gather(*(client() for _ in range(4)))

    assert operator.terminated > 0
    assert "received" in outcomes
    assert await on_hand(shop, "LOSS-3") == 1 + outcomes.count("received")


@pytest.mark.parametrize("state", ["57P01", "08006"])
async def test_a_goodbye_read_before_the_socket_closes_still_throws_the_connection_away(
    engine: AsyncEngine, state: str
) -> None:
    """The server's last word (admin_shutdown, or a connection failure) can arrive while
    asyncpg still thinks the socket open; SQLAlchemy's dialect alone would pool that connection
    again. A function that raises the same SQLSTATE plays that moment."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"""CREATE OR REPLACE FUNCTION say_goodbye_{state}() RETURNS void
                    LANGUAGE plpgsql AS $$ BEGIN
                      RAISE EXCEPTION 'terminating connection' USING ERRCODE = '{state}';
                    END $$"""
            )
        )
    async with engine.connect() as connection:
        first = await connection.scalar(text("SELECT pg_backend_pid()"))

    with pytest.raises(ConnectionLost):
        async with translated(), engine.connect() as connection:
            await connection.execute(text(f"SELECT say_goodbye_{state}()"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT pg_backend_pid()")) != first


async def test_catalog_reads_after_every_connection_is_dropped_only_the_first_finds_out(
    engine: AsyncEngine, url: str
) -> None:
    """The catalog's reads go to asyncpg itself (driver_reads.py), past SQLAlchemy's error
    handling: a dead connection must still be thrown away with the pool's older ones."""
    views = SqlCatalogViews(engine)
    await fill_the_pool(engine)
    assert await Operator(url).terminate_all() >= POOL

    with pytest.raises(ConnectionLost):
        await views.product("no-such-product")
    for _ in range(2 * POOL):
        assert await views.product("no-such-product") is None
        await views.page(ProductFilter(), before=None, limit=20)


async def goodbye_function(engine: AsyncEngine, name: str, state: str) -> None:
    """A function that fails as a server saying goodbye does (SQLSTATE `state`), on a live
    connection: what a backend reports before it hangs up."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"""CREATE OR REPLACE FUNCTION {name}() RETURNS int
                    LANGUAGE plpgsql AS $$ BEGIN
                      RAISE EXCEPTION 'terminating connection' USING ERRCODE = '{state}';
                    END $$"""
            )
        )


@pytest.mark.parametrize("state", ["57P01", "08006"])
async def test_a_goodbye_read_by_the_driver_throws_the_connection_away(
    engine: AsyncEngine, state: str
) -> None:
    await goodbye_function(engine, f"driver_goodbye_{state}", state)
    reads = DriverReads(engine)
    backend = select(func.pg_backend_pid())
    [(first,)] = await reads.rows(backend, {})

    with pytest.raises(ConnectionLost):
        await reads.rows(select(getattr(func, f"driver_goodbye_{state}")()), {})
    [(second,)] = await reads.rows(backend, {})
    assert second != first


async def test_a_failing_driver_read_that_is_no_lost_connection_keeps_its_connection(
    engine: AsyncEngine,
) -> None:
    reads = DriverReads(engine)
    backend = select(func.pg_backend_pid())
    [(first,)] = await reads.rows(backend, {})

    with pytest.raises(Exception, match="division by zero") as raised:
        await reads.rows(
            select(literal_column("1") / bindparam("zero", type_=Integer)), {"zero": 0}
        )

    assert not isinstance(raised.value, ConnectionLost)
    assert [(first,)] == list(map(tuple, await reads.rows(backend, {})))


async def test_an_idempotency_claim_on_a_dropped_connection_is_connection_lost_then_works(
    engine: AsyncEngine, url: str
) -> None:
    store = SqlIdempotencyStore(engine)
    expires = now() + timedelta(days=1)
    await store.claim("customer", "warm-up", "f", now(), expires)
    await Operator(url).terminate_all()

    with pytest.raises(ConnectionLost):
        await store.claim("customer", "key", "f", now(), expires)
    assert isinstance(await store.claim("customer", "key", "f", now(), expires), Started)


async def test_the_outbox_source_reports_a_dropped_connection_as_lost_then_works(
    engine: AsyncEngine, url: str
) -> None:
    source = SqlOutboxSource(engine, now)
    await source.unpublished_count()
    await Operator(url).terminate_all()

    with pytest.raises(ConnectionLost):
        await source.unpublished_count()
    async with source.claim(10) as claim:
        await claim.mark_published([entry.id for entry in claim.entries], "0-0")


async def test_readiness_asks_again_on_a_fresh_connection_after_a_drop(
    engine: AsyncEngine, url: str
) -> None:
    await fill_the_pool(engine)
    await Operator(url).terminate_all()

    await database_answers(engine)  # does not raise: the database is up


async def test_a_server_that_refuses_connections_is_connection_lost() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", pool_size=1)
    try:
        with pytest.raises(ConnectionLost):
            await read_something(engine)
    finally:
        await engine.dispose()


_BACKEND = select(func.pg_backend_pid())
_CLAIM_TWICE = text(
    "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at, expires_at) "
    "VALUES ('lone', 'same', 'f', now(), now()), ('lone', 'same', 'f', now(), now())"
)

# Module-level constants, as lone_statements requires (each is compiled once).
_GOODBYES = {
    state: select(getattr(func, f"lone_goodbye_{state}")()) for state in ("57P01", "08006")
}


@pytest.mark.parametrize("state", ["57P01", "08006"])
async def test_a_goodbye_to_a_lone_statement_throws_the_connection_away(
    engine: AsyncEngine, state: str
) -> None:
    await goodbye_function(engine, f"lone_goodbye_{state}", state)
    lone = LoneStatements(engine)
    first = (await lone.run(_BACKEND, {})).scalars()

    with pytest.raises(ConnectionLost):
        await lone.run(_GOODBYES[state], {})
    assert (await lone.run(_BACKEND, {})).scalars() != first


async def test_a_lone_statement_the_server_refuses_is_translated_and_keeps_its_connection(
    engine: AsyncEngine,
) -> None:
    """A unique value taken is AlreadyExists, as for any statement, and nothing is written;
    the connection was not at fault, so the pool keeps it."""
    lone = LoneStatements(engine)
    first = (await lone.run(_BACKEND, {})).scalars()

    with pytest.raises(AlreadyExists):
        await lone.run(_CLAIM_TWICE, {})

    assert (await lone.run(_BACKEND, {})).scalars() == first
    async with engine.connect() as connection:
        written = text("SELECT count(*) FROM idempotency_keys WHERE owner = 'lone'")
        assert (await connection.execute(written)).scalar() == 0


async def test_lone_statements_after_every_connection_is_dropped_fail_once_then_work(
    engine: AsyncEngine, url: str
) -> None:
    lone = LoneStatements(engine)
    await asyncio.gather(*(lone.run(_BACKEND, {}) for _ in range(POOL)))
    await Operator(url).terminate_all()

    with pytest.raises(ConnectionLost):
        await lone.run(_BACKEND, {})
    for _ in range(2 * POOL):
        await lone.run(_BACKEND, {})


async def test_an_authorization_on_a_dropped_connection_is_a_gateway_outage_then_works(
    engine: AsyncEngine, url: str
) -> None:
    gateway = SqlSimulatedGateway(engine)
    await gateway.authorize(Money(100, "EUR"), APPROVE, "warm-up:authorize")
    await Operator(url).terminate_all()

    with pytest.raises(PaymentGatewayUnavailable):
        await gateway.authorize(Money(100, "EUR"), APPROVE, "order:authorize")
    answer = await gateway.authorize(Money(100, "EUR"), APPROVE, "order:authorize")
    assert answer.approved and answer.reference is not None
