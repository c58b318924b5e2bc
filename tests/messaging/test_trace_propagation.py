"""A trace crosses the outbox: with tracing on, a checkout's request and a worker's handling
of the events it committed are one trace, the handling a child of the request's span; with
tracing off, no trace context is written to the outbox or the stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from adapters.db.tables import outbox
from adapters.memory.hasher import FastInsecureHasher
from adapters.payments.simulated import SimulatedGateway
from apps.api import build_app
from apps.components import Components
from apps.worker import WorkerOptions, consumer_for, relay_for
from tests.messaging.helpers import until
from tests.support.api import Api, test_settings
from tests.support.messaging import Bed, Database
from tests.support.storefront import bought

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


async def _checkout_then_work(
    postgres: Database, bed: Bed, *, tracing: bool, provider: Any = None
) -> tuple[str, int]:
    """One order through the API, then a worker's relay pass and its notifications group
    until the order's confirmation is handled; returns the order id and events handled."""
    settings = test_settings(
        postgres.url,
        redis_url=bed.url,
        redis_cluster=bed.cluster,
        events_stream=bed.streams.events,
        catalog_cache_seconds=0,
        tracing=tracing,
    )
    gateway = SimulatedGateway()
    app = build_app(
        Components(settings, gateway=gateway, hasher=FastInsecureHasher()),
        tracer_provider=provider,
    )
    async with Components(settings, gateway=gateway, hasher=FastInsecureHasher()) as side:
        async with AsyncTestClient(app) as client:
            api = Api(client, app, gateway, side.shop, postgres.url)
            await api.product("TRACE-M")
            order = await bought(api, await api.customer(), "TRACE-M")

        async with Components(settings) as worker:
            relay = relay_for(worker)
            await relay.settle()  # opens the feed of this test's fresh stream
            assert await relay.relay_once() > 0
            group = worker.shop.groups["notifications"]
            consumer = consumer_for(worker, group, WorkerOptions(block_ms=50), provider)
            stop = asyncio.Event()
            running = asyncio.create_task(consumer.run(stop))
            try:
                await until(lambda: consumer.handled >= 1)
            finally:
                stop.set()
                await running
    return str(order["id"]), consumer.handled


async def test_the_worker_handles_a_checkouts_events_in_the_checkouts_trace(
    postgres: Database, bed: Bed, spans: tuple[InMemorySpanExporter, Any]
) -> None:
    exporter, provider = spans
    await _checkout_then_work(postgres, bed, tracing=True, provider=provider)

    finished = exporter.get_finished_spans()
    [request] = [
        span
        for span in finished
        if span.kind is SpanKind.SERVER and span.name == "POST /v1/checkout"
    ]
    [handling] = [span for span in finished if span.name == "handle OrderPlaced"]
    assert handling.kind is SpanKind.CONSUMER
    assert handling.context.trace_id == request.context.trace_id
    # A child of a span of that request (the statement that wrote the outbox row is under it).
    assert handling.parent is not None
    request_spans = {
        span.context.span_id
        for span in finished
        if span.context.trace_id == request.context.trace_id
    }
    assert handling.parent.span_id in request_spans


async def test_with_tracing_off_no_trace_context_is_written(postgres: Database, bed: Bed) -> None:
    await _checkout_then_work(postgres, bed, tracing=False)

    async with postgres.engine.connect() as connection:
        kept = (await connection.execute(select(outbox.c.traceparent, outbox.c.tracestate))).all()
    assert kept and all(row == (None, None) for row in kept)
    entries = await bed.redis.xrange(bed.streams.events)
    assert entries
    assert all(
        "traceparent" not in fields and "tracestate" not in fields  # type: ignore[operator]
        for _, fields in entries
    )
