"""The shop on a real Redis Cluster (three primaries, three replicas: tests/support/
redis_cluster.py), through redis-py's cluster client as SHOPCORE_REDIS_CLUSTER=true makes it.

Consumer groups fed by the relay, rate limits shared by two API instances, the catalog cache
and its invalidations, and the live-stock fan-out work as on one server: every script and
transaction they run keeps to one hash slot (a cluster client refuses one that does not, and a
node answers CROSSSLOT). And a primary SIGKILLed while events flow, with its replica held back
so that the stream's newest entries and acknowledgements die with it, is failed over to that
replica with no event lost: the relay finds the stream shorter than what it published and
publishes again what no group had acknowledged; the processed-event records make every repeat
a no-op.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.machinery.outbox_relay import OutboxRelay
from adapters.machinery.stock_fanout import StockSubscription
from adapters.memory.catalog_cache import MemoryCatalogCache
from adapters.messaging.cache import RedisCatalogCache
from adapters.messaging.codec import event_fields
from adapters.messaging.connection import RedisClient, connect, open_client
from adapters.messaging.revocations import RedisRevocations
from adapters.messaging.stock_feed import RedisStockFeed
from adapters.messaging.streams import EventStreams
from apps.settings import Settings
from shopcore.application.groups import GroupDelivery
from shopcore.catalog.events import ProductCreated
from shopcore.inventory.events import StockChanged
from tests.contracts.test_catalog_cache_contract import Loader, detail
from tests.support.api import api_app, test_settings
from tests.support.cli_process import confirmations_sent, shopcore_process, stopped
from tests.support.databases import fresh_sqlite
from tests.support.driver import build_driver
from tests.support.effects import on_hand, product_created, receive_one_each
from tests.support.event_flow import handled
from tests.support.event_flow import moving_events as flowing
from tests.support.messaging import Database
from tests.support.redis import unique_prefix
from tests.support.redis_cluster import LocalCluster, running_cluster
from tests.support.waiting import eventually, until

pytestmark = pytest.mark.redis

GROUPS = ("stock", "audit")


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    engine = await fresh_sqlite(tmp_path)
    try:
        yield Database("sqlite", engine, str(engine.url))
    finally:
        await engine.dispose()


@asynccontextmanager
async def cluster_client(cluster: LocalCluster, **options: Any) -> AsyncIterator[RedisClient]:
    client = connect(cluster.url, cluster=True, **options)
    try:
        yield client
    finally:
        await client.aclose()


async def note(event: ProductCreated, uow: Any) -> None:
    """Nothing but its processed-event record."""


def groups_of(database: Database) -> list[GroupDelivery]:
    return [
        GroupDelivery("stock", {ProductCreated: [receive_one_each]}, database.uow),
        GroupDelivery("audit", {ProductCreated: [note]}, database.uow),
    ]


@asynccontextmanager
async def moving_events(
    database: Database, cluster: LocalCluster, streams: EventStreams
) -> AsyncIterator[OutboxRelay]:
    """A relay and, per group, two consumers, each part with a cluster client of its own (as
    separate processes would have), until the block ends."""
    async with (
        cluster_client(cluster) as relay_redis,
        cluster_client(cluster) as worker_redis,
        flowing(
            database,
            streams,
            groups_of(database),
            relay_redis=relay_redis,
            worker_redis=worker_redis,
            max_deliveries=20,  # a failover's errors must not dead-letter anything
        ) as relay,
    ):
        yield relay


async def commit(database: Database, *events: ProductCreated) -> None:
    """The events, each with a StockChanged of its SKU (no group handles those: the API's
    stock feeds read them)."""
    async with database.uow() as uow:
        for event in events:
            uow.emit(event)
            uow.emit(stock_of(event.skus[0]))
        await uow.commit()


def stock_of(sku: str, available: int = 1) -> StockChanged:
    return StockChanged(
        sku=sku, on_hand=available, reserved=0, allocated=0, available=available, reason="t",
        at=datetime(2026, 1, 1, 12, tzinfo=UTC),
    )  # fmt: skip


async def updates_until(
    subscription: StockSubscription, skus: set[str], within: float = 15
) -> list[str]:
    """The SKUs of the updates that came, in order, until every one of `skus` came and then
    nothing for half a second."""
    got: list[str] = []
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        update = await subscription.next(within=0.5)
        if update is not None:
            got.append(update.sku)
        elif skus <= set(got):
            return got
    raise AssertionError(f"missing updates of {sorted(skus - set(got))}")


async def all_handled(database: Database, count: int) -> bool:
    return await handled(database) == dict.fromkeys(GROUPS, count)


async def test_consumer_groups_fed_by_the_relay_handle_every_event_once(
    redis_cluster: LocalCluster, sqlite: Database
) -> None:
    events = [product_created() for _ in range(30)]
    streams = EventStreams.named(f"{unique_prefix()}:events")

    async with moving_events(sqlite, redis_cluster, streams) as relay:
        for event in events:
            await commit(sqlite, event)
        await eventually(lambda: all_handled(sqlite, len(events)), within=15)
        await until(lambda: relay.confirmed == 2 * len(events), within=15)  # and StockChanged
        assert relay.rewound == 0  # nothing was lost, so nothing published twice

    skus = [event.skus[0] for event in events]
    assert await on_hand(sqlite.uow, skus) == dict.fromkeys(skus, 1)


async def test_a_primary_killed_mid_run_fails_over_and_no_event_is_lost(
    sqlite: Database,
) -> None:
    """A cluster of its own, since a node of it dies. The stream's primary is killed after its
    replica was cut off, so the replica promoted in its place lacks the newest entries, and the
    groups' reads and acknowledgements of them: the worst a failover can do."""
    before = [product_created() for _ in range(20)]
    unreplicated = [product_created() for _ in range(10)]
    after = [product_created() for _ in range(10)]
    everything = [*before, *unreplicated, *after]
    streams = EventStreams.named(f"{unique_prefix()}:events")

    with running_cluster() as cluster:
        async with (
            moving_events(sqlite, cluster, streams) as relay,
            cluster_client(cluster) as api_redis,
        ):
            # An API process's stock feed follows the stream through it all.
            feed = RedisStockFeed(api_redis, streams, block_ms=50)
            await feed.start()
            await until(lambda: feed.position is not None, within=10)
            watching = await feed.subscribe([e.skus[0] for e in everything], after=None)
            for event in before:
                await commit(sqlite, event)
            await eventually(lambda: all_handled(sqlite, len(before)), within=15)

            primary = await asyncio.to_thread(cluster.primary_of, streams.events)
            replica = await asyncio.to_thread(cluster.hold_back_replica, primary)
            try:
                for event in unreplicated:
                    await commit(sqlite, event)
                # On the primary only: published, and (most) handled and acknowledged there.
                published = 2 * (len(before) + len(unreplicated))  # with their StockChanged
                await until(lambda: relay.published == published, within=15)
            finally:
                cluster.kill(primary)
                cluster.resume(replica)
            promoted = await asyncio.to_thread(cluster.wait_failed_over, streams.events, primary)
            for event in after:
                await commit(sqlite, event)

            await eventually(lambda: all_handled(sqlite, len(everything)), within=30)
            assert promoted is replica
            # The new primary had lost what the dead one took last; the relay noticed and
            # published again what no group had acknowledged on the surviving copy.
            assert relay.rewound > 0
            seen = await updates_until(watching, {e.skus[0] for e in everything})
            await feed.stop()

    # Live stock missed no change, and replayed none of what the new primary still held
    # (only what was lost and published again may come twice).
    assert {e.skus[0] for e in before} == {sku for sku in seen if seen.count(sku) == 1} - {
        e.skus[0] for e in [*unreplicated, *after]
    }

    # Every group handled every event to the end, and its effect happened once.
    assert await handled(sqlite) == dict.fromkeys(GROUPS, len(everything))
    skus = [event.skus[0] for event in everything]
    assert await on_hand(sqlite.uow, skus) == dict.fromkeys(skus, 1)


async def test_two_api_instances_count_one_rate_limit_on_the_cluster(
    redis_cluster: LocalCluster, tmp_path: Path
) -> None:
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        redis_url=redis_cluster.url,
        redis_cluster=True,
        redis_namespace=unique_prefix(),
        rate_limit_per_minute=4,
    )
    first, _, side_a = api_app(settings)
    second, _, side_b = api_app(settings)
    await side_a.aclose()
    await side_b.aclose()
    a: AsyncTestClient[Litestar]
    b: AsyncTestClient[Litestar]
    async with AsyncTestClient(first) as a, AsyncTestClient(second) as b:
        statuses = [(await client.get("/v1/products")).status_code for client in (a, b, a, b)]
        over = await b.get("/v1/products")
        ready = await a.get("/health/ready")

    assert statuses == [200, 200, 200, 200]  # two instances, one budget of 4
    assert over.status_code == 429
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_the_catalog_cache_fills_once_and_a_change_drops_every_copy(
    redis_cluster: LocalCluster,
) -> None:
    """Two API processes, each with its own near copy: the drop script touches an entry's
    keys on one slot, and its message reaches the other process through the cluster."""
    namespace = unique_prefix()
    clients = [open_client(redis_cluster.url, cluster=True) for _ in range(2)]
    first, second = (
        RedisCatalogCache(redis, namespace=namespace, near=MemoryCatalogCache(ttl_seconds=60))
        for redis in clients
    )
    try:
        for cache in (first, second):
            await cache.read("warm-up", Loader(detail("warm-up")))
            await until(lambda cache=cache: cache.near_live, within=10)
        load = Loader(detail("p1", "A"))
        filled = await first.read("detail:p1", load)
        shared = await second.read("detail:p1", load)
        assert (load.calls, shared) == (1, filled)  # the second process read the first's fill

        await first.invalidate([], ["A"])

        async def reloaded() -> bool:
            await second.read("detail:p1", load)
            return load.calls == 2

        # Only the message can drop the second's near copy (it would live 60 s).
        await eventually(reloaded, within=10)
        await first.read("detail:p1", load)
        assert load.calls == 2  # the second's reload filled Redis for the first
    finally:
        for cache in (first, second):
            await cache.close()
        for client in clients:
            await client.aclose()


async def test_every_api_process_sees_every_stock_change(redis_cluster: LocalCluster) -> None:
    streams = EventStreams.named(f"{unique_prefix()}:events")
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def changed(sku: str, available: int) -> StockChanged:
        return StockChanged(
            sku=sku, on_hand=available, reserved=0, allocated=0, available=available,
            reason="t", at=at,
        )  # fmt: skip

    async with (
        cluster_client(redis_cluster) as one,
        cluster_client(redis_cluster) as two,
        cluster_client(redis_cluster) as relay,
    ):
        feeds = [RedisStockFeed(redis, streams, block_ms=50) for redis in (one, two)]
        for feed in feeds:
            await feed.start()
        try:
            for feed in feeds:
                await until(lambda feed=feed: feed.position is not None, within=10)
            a = await feeds[0].subscribe(["A"], after=None)
            b = await feeds[1].subscribe(["A", "B"], after=None)
            for event in (changed("A", 1), changed("C", 7), changed("B", 2)):
                await relay.xadd(streams.events, event_fields(event))  # type: ignore[arg-type]

            got_a = [await a.next(within=10) for _ in range(1)]
            got_b = [await b.next(within=10) for _ in range(2)]
        finally:
            for feed in feeds:
                await feed.stop()

    assert [(u.sku, u.available) for u in got_a if u] == [("A", 1)]
    assert [(u.sku, u.available) for u in got_b if u] == [("A", 1), ("B", 2)]


async def test_a_revoked_login_reaches_every_api_process(redis_cluster: LocalCluster) -> None:
    namespace = unique_prefix()
    clients = [open_client(redis_cluster.url, cluster=True) for _ in range(2)]
    here, there = (RedisRevocations(redis, namespace=namespace) for redis in clients)
    try:
        for revocations in (here, there):
            await revocations.start()
            await until(lambda r=revocations: r.following, within=10)
        until_expiry = datetime.now(UTC).timestamp() + 60

        await here.revoke("family-1", until_expiry)

        await until(lambda: there.revoked("family-1"), within=10)
    finally:
        for revocations in (here, there):
            await revocations.stop()
        for client in clients:
            await client.aclose()


@pytest.mark.postgres
async def test_shopcore_worker_on_the_cluster_sends_each_order_confirmation_once(
    redis_cluster: LocalCluster, postgres: Database, tmp_path: Path
) -> None:
    """`shopcore worker` itself, with SHOPCORE_REDIS_CLUSTER=true: its relay and every handler
    group run through the cluster client the composition root builds."""
    mail = tmp_path / "mail.jsonl"
    settings = Settings(
        database_url=postgres.url,
        redis_url=redis_cluster.url,
        redis_cluster=True,
        events_stream=f"{unique_prefix()}:events",
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SHOPCORE_DATABASE_URL": postgres.url,
        "SHOPCORE_REDIS_URL": redis_cluster.url,
        "SHOPCORE_REDIS_CLUSTER": "true",
        "SHOPCORE_EVENTS_STREAM": settings.events_stream,
        "SHOPCORE_MAIL_FILE": str(mail),
        "SHOPCORE_RELAY_POLL_MS": "50",
    }
    driver = build_driver(settings)
    try:
        async with shopcore_process("worker", env=environment) as worker:
            await driver.product("TEE-M")
            await driver.receive("TEE-M", 5)
            first = await driver.buy({"TEE-M": 1})
            second = await driver.buy({"TEE-M": 2})
            orders = sorted([first.id, second.id])
            await until(lambda: sorted(confirmations_sent(mail)) == orders, within=30)
            await asyncio.sleep(0.5)  # a repeat would be there by now
            code, log = await stopped(worker, within=15)
    finally:
        await driver.close()
    assert code == 0, log
    assert sorted(confirmations_sent(mail)) == orders
