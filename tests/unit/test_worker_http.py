"""The worker's readiness: a relay stuck inside a pass makes the worker unready, naming it; a
relay that keeps failing passes (an outage it retries) is still turning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry

from adapters.http.services import ReadinessCheck
from adapters.machinery.outbox_relay import OutboxRelay
from apps.worker_http import WorkerMetrics, relay_turning, worker_app
from tests.unit.test_outbox_relay import FakeSource, RecordingPublisher, _entries

TOKEN = "worker-metrics-" + "t" * 16


class _StuckSource(FakeSource):
    """A claim that never comes back: a statement the database never answers."""

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[object]:  # type: ignore[override]
        await asyncio.Event().wait()
        yield None  # pragma: no cover


class _FailingSource(FakeSource):
    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[object]:  # type: ignore[override]
        raise ConnectionError("database went away")
        yield None  # pragma: no cover


def _app(relay: OutboxRelay, stalled_after: float) -> AsyncTestClient:  # type: ignore[type-arg]
    own = CollectorRegistry()
    own.register(WorkerMetrics([], relay))
    checks = [ReadinessCheck("relay", relay_turning(relay, stalled_after=stalled_after))]
    return AsyncTestClient(worker_app(checks, own, [], metrics_token=TOKEN))


async def test_a_relay_stuck_inside_a_pass_makes_the_worker_unready() -> None:
    relay = OutboxRelay(_StuckSource(_entries(1)), RecordingPublisher(), poll_interval=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with _app(relay, stalled_after=0.3) as client:
            await asyncio.sleep(0.05)
            assert (await client.get("/health/ready")).status_code == 200
            await asyncio.sleep(0.4)
            answer = await client.get("/health/ready")
            metrics = (
                await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            ).text
    finally:
        running.cancel()
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "checks": {"relay": "failing"}}
    assert "shopcore_relay_seconds_since_pass" in metrics


async def test_a_relay_retrying_an_outage_is_still_turning() -> None:
    relay = OutboxRelay(
        _FailingSource(_entries(1)), RecordingPublisher(), poll_interval=0.01, max_backoff=0.05
    )
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with _app(relay, stalled_after=0.3) as client:
            await asyncio.sleep(0.6)
            answer = await client.get("/health/ready")
    finally:
        stop.set()
        await running
    assert answer.status_code == 200
