"""OpenTelemetry traces, when SHOPCORE_TRACING is on: each HTTP request a server span (the
outermost layer of the API, so cached reads answered at the edge are traced too), each SQL
statement and Redis command a child span, each event a worker handles a span of its own. The
exporter is OTLP over HTTP, configured by the standard OTEL_EXPORTER_OTLP_* variables; log lines
written under a span carry its trace id (apps/logs.py).

Everything OpenTelemetry is imported here, and only when tracing is on: without the `tracing`
extra installed the shop runs as before, and asking for traces then stops the start with one
line saying what to install."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from apps.database import NotReady
from shopcore.shared.messages import Event


def provider_for(service: str, exporter: Any = None) -> Any:
    """A tracer provider for `service` ("shopcore-api", "shopcore-worker"): spans batched to
    the OTLP exporter, or handed at once to `exporter` (tests)."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise NotReady(
            "SHOPCORE_TRACING needs the tracing extra: pip install 'shopcore[tracing]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_stores(provider: Any, engines: Sequence[AsyncEngine], redis: bool) -> None:
    """Spans for every statement of `engines` and, with `redis`, every Redis command. On
    PostgreSQL at the driver (asyncpg), since the hot paths send their statements to it
    directly (driver_reads.py, driver_statements.py); on SQLite through SQLAlchemy's events."""
    if any(engine.dialect.driver == "asyncpg" for engine in engines):
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    others = [engine.sync_engine for engine in engines if engine.dialect.driver != "asyncpg"]
    if others:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops before SQLAlchemy 2.1; its engine events work on 2.1 (the
        # test of this module checks the spans).
        SQLAlchemyInstrumentor().instrument(
            engines=others, tracer_provider=provider, skip_dep_check=True
        )
    if redis:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor().instrument(tracer_provider=provider)


def traced_asgi(provider: Any) -> Callable[[Any], Any]:
    """The outermost ASGI layer: a server span per request."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    def wrap(app: Any) -> Any:
        return OpenTelemetryMiddleware(app, tracer_provider=provider)

    return wrap


def traced_delivery(
    provider: Any, group: str, deliver: Callable[[Event], Awaitable[None]]
) -> Callable[[Event], Awaitable[None]]:
    """`deliver` with a span per event: the event's type, id and group as attributes."""
    tracer = provider.get_tracer("shopcore.worker")

    async def traced(event: Event) -> None:
        name = type(event).__name__
        attributes = {"shopcore.event.id": event.event_id, "shopcore.group": group}
        with tracer.start_as_current_span(f"handle {name}", attributes=attributes):
            await deliver(event)

    return traced
