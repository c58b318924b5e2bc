"""Two API processes, one worker, PostgreSQL and Redis, all real (`shopcore serve` twice and
`shopcore worker`): a storefront streaming stock from the second instance sees each change
committed through the first, and the test reports how long that took. The first instance's
commit writes the outbox; the worker's relay publishes it to the stream; the second
instance's reader fans it out to the open stream. The same change also drops the second
instance's cached product page (the worker's catalog-cache group), so it shows the new stock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from apps.components import Components
from apps.settings import Settings
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, Variant
from shopcore.catalog.model import Product
from tests.support.databases import empty_postgres
from tests.support.ports import free_port
from tests.support.redis import delete_prefix, require_redis, unique_prefix
from tests.support.sse import sse

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JWT_SECRET = "two-instances-signing-key-" + "s" * 32
STAFF_EMAIL = "stock-keeper@example.com"
STAFF_PASSWORD = "a long enough passphrase"
SKU = "LIVE-TEE-M"
CHANGES = 5


@dataclass
class Deployment:
    first: str  # base URLs of the two API instances
    second: str
    product: Product
    logs: Path

    def output(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


async def seed(settings: Settings) -> Product:
    """The catalog, its stock and a staff account, written as any command writes them (the
    worker's relay publishes their events later)."""
    container = Components(settings)
    shop = container.shop
    try:
        product: Product = await shop.handle(
            CreateProduct(
                name="Live tee",
                slug="live-tee",
                category="shirts",
                variants=(Variant(sku=SKU, price=Money(1900, "EUR")),),
            )
        )
        await shop.handle(ReceiveStock(sku=SKU, quantity=3))
        await shop.handle(EnsureStaff(email=STAFF_EMAIL, password=STAFF_PASSWORD))
    finally:
        await container.aclose()
    return product


async def start(
    logs: Path, name: str, env: dict[str, str], *args: str
) -> asyncio.subprocess.Process:
    log = (logs / f"{name}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "apps.cli", *args, env=env, stdout=log, stderr=log
    )


async def ready(
    client: httpx.AsyncClient, base: str, processes: list[asyncio.subprocess.Process]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await client.get(f"{base}/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert all(p.returncode is None for p in processes), "a process exited during start-up"
        assert time.monotonic() < deadline, f"{base} was not ready within 60 s"
        await asyncio.sleep(0.1)


async def stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), timeout=20)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def deployment(postgres_url: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    redis_url = require_redis()
    prefix = unique_prefix()
    engine = await empty_postgres(postgres_url, pool_size=1)
    await engine.dispose()
    settings = Settings(
        database_url=postgres_url,
        redis_url=redis_url,
        redis_namespace=prefix,
        events_stream=f"{prefix}:events",
        jwt_secret=JWT_SECRET,
    )
    product = await seed(settings)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOPCORE_")},
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SHOPCORE_DATABASE_URL": postgres_url,
        "SHOPCORE_DATABASE_POOL_SIZE": "3",
        "SHOPCORE_REDIS_URL": redis_url,
        "SHOPCORE_REDIS_NAMESPACE": prefix,
        "SHOPCORE_EVENTS_STREAM": f"{prefix}:events",
        "SHOPCORE_JWT_SECRET": JWT_SECRET,
        "SHOPCORE_RATE_LIMIT_PER_MINUTE": "100000",
        "SHOPCORE_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        "SHOPCORE_MAIL_FILE": str(tmp_path / "mail.jsonl"),
    }
    ports = free_port(), free_port()
    processes = [
        await start(tmp_path, f"api-{port}", env, "serve", "--port", str(port)) for port in ports
    ]
    processes.append(await start(tmp_path, "worker", env, "worker", "--concurrency", "2"))
    first, second = (f"http://127.0.0.1:{port}" for port in ports)
    deployed = Deployment(first, second, product, tmp_path)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for base in (first, second):
                await ready(client, base, processes)
        yield deployed
    except BaseException:
        print(deployed.output())
        raise
    finally:
        await stop(processes)
        client = Redis.from_url(redis_url)
        try:
            await delete_prefix(client, prefix)
        finally:
            await client.aclose()


async def staff_token(client: httpx.AsyncClient, base: str) -> str:
    response = await client.post(
        f"{base}/v1/auth/token", json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def available_on(client: httpx.AsyncClient, base: str, product: Product) -> int:
    response = await client.get(f"{base}/v1/products/{product.id}")
    assert response.status_code == 200, response.text
    available: int = response.json()["variants"][0]["available"]
    return available


async def test_a_stream_on_one_instance_sees_stock_committed_through_the_other(
    deployment: Deployment,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        token = await staff_token(client, deployment.first)
        assert await available_on(client, deployment.second, deployment.product) == 3  # cached
        latencies: list[float] = []
        async with sse(client, f"{deployment.second}/v1/inventory/stream", skus=[SKU]) as stream:
            snapshot = await stream.next_event()
            assert snapshot.event == "snapshot"
            assert '"available":3' in snapshot.data
            for number in range(1, CHANGES + 1):
                receipt = await client.post(
                    f"{deployment.first}/v1/admin/inventory/{SKU}/receipts",
                    json={"quantity": 1},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": f"live-receipt-{number}",
                    },
                )
                committed = time.monotonic()  # the receipt's transaction has committed
                assert receipt.status_code == 201, receipt.text
                change = await stream.next_event(within=10)
                latencies.append(time.monotonic() - committed)
                assert change.event == "stock"
                assert f'"available":{3 + number}' in change.data, change.data

        # The worker's catalog-cache group dropped the second instance's cached page too.
        deadline = time.monotonic() + 10
        while await available_on(client, deployment.second, deployment.product) != 3 + CHANGES:
            assert time.monotonic() < deadline, "the cached product page stayed stale"
            await asyncio.sleep(0.05)

    milliseconds = sorted(round(latency * 1000) for latency in latencies)
    print(
        f"\nstock change on instance 1 -> SSE event on instance 2, {CHANGES} changes: "
        f"min {milliseconds[0]} ms, median {statistics.median(milliseconds):.0f} ms, "
        f"max {milliseconds[-1]} ms (relay poll {Settings().relay_poll_ms} ms)"
    )
    assert max(latencies) < 5
