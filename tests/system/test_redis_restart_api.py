"""Redis SIGKILLed and started again empty under an API that uses it for everything it can
(rate limits, the catalog cache with its near copy, live stock): no request is answered 500.

A Redis server of the test's own (tests/support/redis_server.py); the API served over real
HTTP on SQLite, with a relay in this process feeding the event stream. While Redis is down:
rate-limited routes (the default limit, login and checkout, counted per process), catalog reads
(from the database, and not from a near copy nobody can invalidate any more), liveness all
answer as before; readiness says Redis is failing; a new live-stock stream is refused with 503
and Retry-After, while a stream already open keeps its heartbeats. Once Redis is back, empty,
the open stream carries the next stock change, and everything is as before the fault.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from apps.components import Components
from apps.worker import relay_for
from shopcore import CreateProduct, Money, ReceiveStock, RegisterCustomer, Variant
from shopcore.catalog.commands import UpdateProduct
from shopcore.catalog.model import Product
from tests.e2e.conftest import sqlite_url
from tests.support.api import PASSWORD, api_app, test_settings
from tests.support.redis_server import private_redis
from tests.support.sse import SseStream, served, sse
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis

SKU = "RESTART-TEE-M"
EMAIL = "restart@example.com"
STREAM = "/v1/inventory/stream"


@dataclass
class Shopper:
    """A customer's requests, every answer's status kept."""

    client: httpx.AsyncClient
    product: Product
    statuses: list[tuple[str, int]] = field(default_factory=list)

    async def request(self, method: str, path: str, **options: object) -> httpx.Response:
        response = await self.client.request(method, path, **options)  # type: ignore[arg-type]
        self.statuses.append((path, response.status_code))
        return response

    async def browse(self) -> None:
        """One of each: catalog reads, login (the auth limit), checkout without a token (the
        checkout limit, then 401), liveness."""
        assert (await self.request("GET", "/v1/products")).status_code == 200
        assert (await self.request("GET", f"/v1/products/{self.product.id}")).status_code == 200
        login = await self.request(
            "POST", "/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}
        )
        assert login.status_code == 200
        checkout = await self.request("POST", "/v1/checkout", headers={"Idempotency-Key": "k"})
        assert checkout.status_code == 401
        assert (await self.request("GET", "/health/live")).status_code == 200

    async def product_name(self) -> str:
        page = await self.request("GET", f"/v1/products/{self.product.id}")
        name: str = page.json()["name"]
        return name

    async def ready(self) -> tuple[int, str]:
        answer = await self.request("GET", "/health/ready")
        return answer.status_code, answer.json()["status"]


@asynccontextmanager
async def relaying(side: Components) -> AsyncIterator[None]:
    """The relay a worker would run, here, so that stock changes reach the stream."""
    relay = relay_for(side)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        relay.wake()
        await asyncio.wait_for(task, timeout=10)


async def next_stock(stream: SseStream, available: int) -> None:
    """Reads until a stock event with `available` arrives (older replayed levels come first)."""
    async with asyncio.timeout(15):
        while True:
            event = await stream.next_event(within=15)
            if event.event == "stock" and json.loads(event.data)["available"] == available:
                return


async def test_a_redis_killed_and_restarted_empty_costs_no_request_a_500(tmp_path: Path) -> None:
    async with private_redis(tmp_path) as redis:
        settings = test_settings(
            await sqlite_url(tmp_path),
            redis_url=redis.url,
            redis_namespace="restart",
            events_stream="restart:events",
            auth_rate_limit_per_minute=50,  # under 100: every login is counted in Redis first
            checkout_rate_limit_per_minute=50,
            stream_heartbeat_ms=100,
            relay_poll_ms=20,
        )
        app, _, side = api_app(settings)
        product: Product = await side.shop.handle(
            CreateProduct(
                name="Restart tee",
                slug="restart-tee",
                category="shirts",
                variants=(Variant(sku=SKU, price=Money(1900, "EUR")),),
            )
        )
        await side.shop.handle(ReceiveStock(sku=SKU, quantity=5))
        await side.shop.handle(RegisterCustomer(email=EMAIL, password=PASSWORD))
        try:
            async with (
                relaying(side),
                served(app) as base,
                httpx.AsyncClient(base_url=base, timeout=10) as client,
            ):
                shopper = Shopper(client, product)
                await shopper.browse()
                async with sse(client, STREAM, skus=[SKU]) as stream:
                    assert (await stream.next_event()).event == "snapshot"
                    assert await shopper.product_name() == "Restart tee"  # now kept near too

                    await redis.kill()
                    await side.shop.handle(UpdateProduct(product_id=product.id, name="Renamed"))

                    # Read from the database: the near copy cannot be told of the change.
                    assert await shopper.product_name() == "Renamed"
                    for _ in range(3):
                        await shopper.browse()
                    # Degraded, still in service: the balancer must not drop every instance.
                    await eventually(lambda: shopper_sees(shopper, (200, "degraded")))
                    refused = await client.get(STREAM, params={"sku": SKU})
                    assert refused.status_code == 503
                    assert int(refused.headers["retry-after"]) >= 1
                    assert (await stream.next()).comment is not None  # the open one waits

                    await redis.restart_empty()
                    await eventually(lambda: shopper_sees(shopper, (200, "ok")))
                    await shopper.browse()
                    await side.shop.handle(ReceiveStock(sku=SKU, quantity=2))
                    await next_stock(stream, available=7)
                async with sse(client, STREAM, skus=[SKU]) as again:
                    assert (await again.next_event()).event == "snapshot"
        finally:
            await side.aclose()

    assert [answer for answer in shopper.statuses if answer[1] >= 500] == []


async def shopper_sees(shopper: Shopper, readiness: tuple[int, str]) -> bool:
    return await shopper.ready() == readiness
