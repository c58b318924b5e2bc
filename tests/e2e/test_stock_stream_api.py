"""GET /v1/inventory/stream in the embedded mode (no Redis): the API process's own bus feeds
the stream. The app is served over real HTTP on the test's loop, so the test drives the app's
own shop (whose bus feeds the stream) and reads the events as a browser would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.http.services import ApiServices
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, Variant
from shopcore.bootstrap import Shop
from shopcore.catalog.model import Product
from tests.e2e.conftest import sqlite_url
from tests.support.api import PASSWORD, api_app, test_settings
from tests.support.databases import delete_every_row
from tests.support.sse import served, sse
from tests.support.waiting import until

STREAM = "/v1/inventory/stream"


@dataclass
class Live:
    client: httpx.AsyncClient
    services: ApiServices

    @property
    def shop(self) -> Shop:
        return self.services.shop

    async def product(self, *skus: str, stock: int = 0) -> Product:
        product: Product = await self.shop.handle(
            CreateProduct(
                name=f"Stream {skus[0]}",
                slug=f"stream-{skus[0].lower()}",
                category="shirts",
                variants=tuple(Variant(sku=sku, price=Money(1000, "EUR")) for sku in skus),
            )
        )
        for sku in skus:
            if stock:
                await self.receive(sku, stock)
        return product

    async def receive(self, sku: str, quantity: int) -> None:
        await self.shop.handle(ReceiveStock(sku=sku, quantity=quantity))


@dataclass
class Served:
    """One app with a 200 ms heartbeat, served over real HTTP for the whole module (building
    and starting one per test cost more than the tests), and an engine to empty its database."""

    live: Live
    engine: AsyncEngine


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
async def served_live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    if request.param == "sqlite":
        url = await sqlite_url(tmp_path_factory.mktemp("stream"))
    else:
        url = request.getfixturevalue("postgres_url")
    settings = test_settings(url, stream_heartbeat_ms=200)
    app, _, side = api_app(settings)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield Served(Live(client, app.state["services"]), side.engine)
    await side.aclose()


@pytest.fixture
async def live(served_live: Served) -> Live:
    """The module's app over an empty database."""
    await delete_every_row(served_live.engine)
    return served_live.live


async def test_a_stream_starts_with_a_snapshot_then_sends_each_change(live: Live) -> None:
    await live.product("SSE-A1", "SSE-A2", stock=5)
    await live.product("SSE-OTHER", stock=1)

    async with sse(live.client, STREAM, skus=["SSE-A1", "SSE-A2"]) as stream:
        snapshot = await stream.next_event()
        await live.receive("SSE-OTHER", 4)  # not followed: never sent
        await live.receive("SSE-A2", 3)
        change = await stream.next_event()

    assert snapshot.event == "snapshot"
    assert snapshot.id
    assert snapshot.retry == 2000
    assert json.loads(snapshot.data)["items"] == [
        {"sku": "SSE-A1", "available": 5},
        {"sku": "SSE-A2", "available": 5},
    ]
    assert change.event == "stock"
    body = json.loads(change.data)
    assert {key: body[key] for key in ("sku", "available")} == {"sku": "SSE-A2", "available": 8}
    assert body["at"].endswith("Z")
    assert change.id and change.id != snapshot.id


async def test_checkout_reservations_are_streamed_too(live: Live) -> None:
    await live.product("SSE-B1", stock=2)
    staff = await live.shop.handle(EnsureStaff(email="sse-staff@example.com", password=PASSWORD))
    token = live.services.tokens.issue(staff.id, staff.role)

    async with sse(live.client, STREAM, skus=["SSE-B1"]) as stream:
        await stream.next_event()
        response = await live.client.post(
            "/v1/admin/inventory/SSE-B1/receipts",
            json={"quantity": 10},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "sse-b1-1"},
        )
        assert response.status_code == 201, response.text
        change = await stream.next_event()

    assert json.loads(change.data)["available"] == 12


async def test_an_idle_stream_sends_heartbeats(live: Live) -> None:
    await live.product("SSE-C1")

    async with sse(live.client, STREAM, skus=["SSE-C1"]) as stream:
        await stream.next_event()
        beat = await stream.next(within=2)

    assert beat.comment == "heartbeat"


async def test_a_reconnect_with_last_event_id_gets_what_it_missed(live: Live) -> None:
    await live.product("SSE-D1", "SSE-D2", stock=1)
    async with sse(live.client, STREAM, skus=["SSE-D1", "SSE-D2"]) as stream:
        await stream.next_event()
        await live.receive("SSE-D1", 1)
        seen = await stream.next_event()
    # Disconnected: two changes happen meanwhile.
    await live.receive("SSE-D2", 2)
    await live.receive("SSE-D1", 3)

    async with sse(live.client, STREAM, skus=["SSE-D1", "SSE-D2"], last_event_id=seen.id) as stream:
        missed = [await stream.next_event(), await stream.next_event()]
        await live.receive("SSE-D2", 1)
        after = await stream.next_event()

    assert [m.event for m in missed] == ["stock", "stock"]  # no snapshot: nothing was lost
    assert [json.loads(m.data)["available"] for m in missed] == [3, 5]
    assert json.loads(after.data) | {"at": None} == {"sku": "SSE-D2", "available": 4, "at": None}


@pytest.mark.parametrize("last_event_id", ["00000000:1", "garbage", "1700000000000-0"])
async def test_an_unresumable_last_event_id_gets_a_fresh_snapshot(
    live: Live, last_event_id: str
) -> None:
    await live.product("SSE-E1", stock=6)

    async with sse(live.client, STREAM, skus=["SSE-E1"], last_event_id=last_event_id) as stream:
        first = await stream.next_event()

    assert first.event == "snapshot"
    assert json.loads(first.data)["items"] == [{"sku": "SSE-E1", "available": 6}]


async def test_the_skus_are_validated_before_the_stream_starts(live: Live) -> None:
    await live.product("SSE-F1")
    too_many = [("sku", f"SSE-F{i}") for i in range(51)]

    cases = {
        "none": await live.client.get(STREAM),
        "malformed": await live.client.get(STREAM, params={"sku": ["SSE-F1", "bad sku"]}),
        "too many": await live.client.get(STREAM, params=too_many),
        "unknown": await live.client.get(STREAM, params={"sku": ["SSE-F1", "NO-SUCH-SKU"]}),
    }

    statuses = {name: response.status_code for name, response in cases.items()}
    assert statuses == {"none": 400, "malformed": 400, "too many": 400, "unknown": 404}
    for response in cases.values():
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "NO-SUCH-SKU" in cases["unknown"].json()["detail"]
    assert cases["malformed"].json()["type"].endswith("/invalid-request")


async def test_closed_streams_leave_no_subscription_behind(live: Live) -> None:
    await live.product("SSE-G1")
    feed = live.services.stock_feed
    assert feed is not None

    for _ in range(3):
        async with sse(live.client, STREAM, skus=["SSE-G1"]) as stream:
            await stream.next_event()

    # The server notices each disconnect and closes that subscription.
    await until(lambda: feed.fan_out.subscriptions == 0)  # type: ignore[attr-defined]
