"""/metrics tells an operator what the shop does, not only what HTTP does: checkouts by
outcome (a replay of an Idempotency-Key is not a second checkout), stock reservations refused,
the relay's lag and each consumer group's lag and pending events, read at the scrape."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from adapters.db.dead_letters import SqlDeadLetters
from adapters.db.engine import create_engine
from adapters.messaging.dead_letters import letter_for
from shopcore.shared.ids import new_id
from tests.e2e.conftest import sqlite_url
from tests.support.api import SCRAPER, Api, api_app, test_settings
from tests.support.redis import require_redis, unique_prefix
from tests.support.storefront import checkout, filled_cart, new_key

SHOP_METRICS = (
    "shopcore_checkouts",
    "shopcore_stock",
    "shopcore_outbox",
    "shopcore_events",
    "shopcore_dead_letters",
    "shopcore_orders_overdue",
)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """Each sample of the shop's own metrics, by name and its one label's value (or "")."""
    response = await client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith(SHOP_METRICS):
                label = next(iter(sample.labels.values()), "")
                samples[sample.name, label] = sample.value
    return samples


def grew(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], key: tuple[str, str]
) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_checkouts_are_counted_by_outcome_once_each(api: Api) -> None:
    await api.product("MET-A1", stock=1)
    first, second = await api.customer(), await api.customer()
    placed_cart = await filled_cart(api, first, ("MET-A1", 1))
    short_cart = await filled_cart(api, second, ("MET-A1", 1))
    key = new_key()
    before = await scrape(api.client)

    assert (await checkout(api, first, placed_cart, key=key)).status_code == 201
    assert (await checkout(api, first, placed_cart, key=key)).status_code == 201  # a replay
    assert (await checkout(api, second, short_cart)).status_code == 409

    after = await scrape(api.client)
    assert grew(before, after, ("shopcore_checkouts_total", "placed")) == 1
    assert grew(before, after, ("shopcore_checkouts_total", "out-of-stock")) == 1
    assert grew(before, after, ("shopcore_stock_reservation_failures_total", "")) == 1
    assert ("shopcore_outbox_unpublished_events", "") in after


@pytest.mark.redis
async def test_each_consumer_groups_lag_and_pending_events_are_read_at_the_scrape(
    tmp_path: Path,
) -> None:
    redis_url = require_redis()
    prefix = unique_prefix()
    stream = f"{prefix}:events"
    settings = test_settings(
        await sqlite_url(tmp_path),
        redis_url=redis_url,
        redis_namespace=prefix,
        events_stream=stream,
    )
    redis = Redis.from_url(redis_url, decode_responses=True)
    app, _, side = api_app(settings)
    try:
        await redis.xgroup_create(stream, f"{prefix}-late", id="0", mkstream=True)
        for n in range(5):
            await redis.xadd(stream, {"n": str(n)})
        await redis.xreadgroup(f"{prefix}-late", "c1", {stream: ">"}, count=2)  # 2 in flight
        async with AsyncTestClient(app) as client:
            first = await scrape(client)
            await redis.xadd(stream, {"n": "5"})
            second = await scrape(client)
    finally:
        await side.aclose()
        keys = [
            key
            for pattern in (f"{prefix}*", f"{{{prefix}*")  # and hash-tagged keys
            async for key in redis.scan_iter(match=pattern, count=500)
        ]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    assert first[("shopcore_events_group_lag", f"{prefix}-late")] == 3
    assert first[("shopcore_events_group_pending", f"{prefix}-late")] == 2
    assert second[("shopcore_events_group_lag", f"{prefix}-late")] == 4  # read anew


async def test_dead_letters_and_overdue_orders_are_counted_at_the_scrape(api: Api) -> None:
    engine = create_engine(api.database_url, pool_size=1)
    try:
        before = await scrape(api.client)
        fields = {"event_id": new_id(), "type": "Nope", "payload": "{}"}
        await SqlDeadLetters(engine).record(letter_for(fields, "notifications", "1-0", 5, "x"))
        after = await scrape(api.client)
    finally:
        await engine.dispose()

    assert before[("shopcore_dead_letters", "")] == 0
    assert after[("shopcore_dead_letters", "")] == 1
    assert after[("shopcore_orders_overdue", "")] == 0  # nothing is being checked out
