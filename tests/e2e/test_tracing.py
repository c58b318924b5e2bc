"""With tracing on, a request is one trace: the server span of the API's outermost layer, and
under it a span for each SQL statement it sent; a log line written under a span names its
trace; the worker's handling of an event is a span of its own."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from apps.api import build_app
from apps.components import Components
from apps.logs import Lines, RequestId
from apps.tracing import traced_delivery
from shopcore.inventory.events import StockChanged
from shopcore.shared.messages import Event
from tests.e2e.conftest import sqlite_url
from tests.support.api import test_settings


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_request_is_one_trace_with_its_sql_under_it(
    tmp_path: Path,
    spans: tuple[InMemorySpanExporter, Any],
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    exporter, provider = spans
    url = (
        await sqlite_url(tmp_path)
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    settings = test_settings(url, catalog_cache_seconds=0)
    app = build_app(Components(settings), tracer_provider=provider)
    async with AsyncTestClient(app) as client:
        # A cart: a unit of work's statements; the listing: a read sent to the driver itself.
        opened = await client.post("/v1/carts")
        listed = await client.get("/v1/products")
    assert (opened.status_code, listed.status_code) == (201, 200)

    finished = exporter.get_finished_spans()
    servers = [span for span in finished if span.kind is SpanKind.SERVER]
    assert len(servers) == 2
    # On SQLite the driver's own reads go unseen (only SQLAlchemy's events are traced there);
    # on PostgreSQL asyncpg itself is, so the listing's read is too.
    for server in servers if backend == "postgres" else servers[:1]:
        statements = [
            span
            for span in finished
            if span.context.trace_id == server.context.trace_id
            and span.kind is SpanKind.CLIENT
            and "db.system" in (span.attributes or {})
        ]
        assert statements, [(span.name, dict(span.attributes or {})) for span in finished]
    assert {span.resource.attributes["service.name"] for span in finished} == {"shopcore-test"}


async def test_a_log_line_under_a_span_names_its_trace(
    spans: tuple[InMemorySpanExporter, Any],
) -> None:
    _, provider = spans
    record = logging.makeLogRecord({"msg": "inside", "name": "shopcore.test"})
    with provider.get_tracer("test").start_as_current_span("work") as span:
        RequestId().filter(record)

    line = json.loads(Lines(as_json=True).format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


async def test_the_worker_handles_each_event_in_a_span_of_its_own(
    spans: tuple[InMemorySpanExporter, Any],
) -> None:
    exporter, provider = spans
    handled: list[Event] = []

    async def deliver(event: Event) -> None:
        handled.append(event)

    event = StockChanged(sku="T-1", on_hand=1, reserved=0, allocated=0, available=1, reason="x")
    await traced_delivery(provider, "catalog-cache", deliver)(event)

    [span] = exporter.get_finished_spans()
    assert handled == [event]
    assert span.name == "handle StockChanged"
    assert span.attributes["shopcore.event.id"] == event.event_id
    assert span.attributes["shopcore.group"] == "catalog-cache"
