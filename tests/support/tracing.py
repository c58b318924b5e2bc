"""Spans kept in memory, for the tests that check what `SHOPCORE_TRACING` records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.tracing import provider_for


@pytest.fixture
def spans() -> Iterator[tuple[InMemorySpanExporter, Any]]:
    """An exporter that keeps every finished span, and the tracer provider writing to it."""
    exporter = InMemorySpanExporter()
    yield exporter, provider_for("shopcore-test", exporter)
    # Instrumentation is process-wide: the other tests run without it.
    SQLAlchemyInstrumentor().uninstrument()
    AsyncPGInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()
