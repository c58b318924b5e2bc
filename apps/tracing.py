"""OpenTelemetry traces, when SHOPCORE_TRACING is on: each HTTP request a server span (the
outermost layer of the API, so cached reads answered at the edge are traced too), each SQL
statement and Redis command a child span, each event a worker handles a span of its own. The
exporter is OTLP over HTTP, configured by the standard OTEL_EXPORTER_OTLP_* variables; log lines
written under a span carry its trace id (apps/logs.py).

A trace crosses the outbox: the unit of work keeps the W3C trace context of the current span
(`traceparent`, `tracestate`) with each outbox row it writes (`trace_context_writer`), the
relay carries it into the stream entry as two fields, and the worker handles the event in a
span that is a child of it (`trace_continuer`, `traced_delivery`): one checkout's trace shows
its request, its SQL, and each worker's handling of its events, seconds later maybe. The core
knows nothing of it: the context travels beside the event, never in it.

Everything OpenTelemetry is imported here, and only when tracing is on: without the `tracing`
extra installed the shop runs as before, and asking for traces then stops the start with one
line saying what to install."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
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

    from opentelemetry.trace import SpanKind

    async def traced(event: Event) -> None:
        name = type(event).__name__
        attributes = {"shopcore.event.id": event.event_id, "shopcore.group": group}
        # The parent is the context the consumer attached (`trace_continuer`): the request
        # that wrote the event, when its outbox row kept one; else a trace of its own.
        with tracer.start_as_current_span(
            f"handle {name}", kind=SpanKind.CONSUMER, attributes=attributes
        ):
            await deliver(event)

    return traced


def trace_context_writer() -> Callable[[], dict[str, str] | None]:
    """The current span's W3C trace context, for the outbox rows a unit of work writes: the
    `traceparent` and `tracestate` headers, or None outside any span (a CLI command)."""
    propagator = _propagator()

    def current() -> dict[str, str] | None:
        carrier: dict[str, str] = {}
        propagator.inject(carrier)
        return carrier or None

    return current


def trace_continuer() -> Callable[[Mapping[str, str]], AbstractContextManager[object]]:
    """What a consumer runs a delivery in: the trace context its entry carries, made current,
    so the delivery's span is a child of the span that wrote the event."""
    from opentelemetry import context

    propagator = _propagator()

    @contextmanager
    def continued(carrier: Mapping[str, str]) -> Iterator[None]:
        if not carrier:  # written with tracing off: the delivery starts a trace of its own
            yield
            return
        token = context.attach(propagator.extract(carrier))
        try:
            yield
        finally:
            context.detach(token)

    return continued


def _propagator() -> Any:
    """W3C Trace Context itself, not the globally configured propagators: what is stored must
    be read back by the same rules, whatever OTEL_PROPAGATORS a process has."""
    try:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        raise NotReady(
            "SHOPCORE_TRACING needs the tracing extra: pip install 'shopcore[tracing]'"
        ) from None
    return TraceContextTextMapPropagator()
