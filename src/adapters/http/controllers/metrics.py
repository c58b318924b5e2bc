"""`GET /metrics` for Prometheus: Litestar's own controller, documented like every route.

It was public: anyone could read the shop's traffic by route and status. It now answers a
scraper that sends `Authorization: Bearer <SHOPCORE_METRICS_TOKEN>`; without a token set, only
a client on this host (loopback), so a scraper elsewhere needs the token.

The request metrics come from Litestar's `PrometheusMiddleware` (see `metrics_config`), labelled
by route template rather than raw path, so ids in paths cannot explode the label set.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from typing import Any

from litestar import Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import (
    PrometheusConfig,
    PrometheusController,
    PrometheusMiddleware,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.http.problem_docs import problem
from adapters.http.services import ApiServices

METRICS_PATH = "/metrics"

logger = logging.getLogger("shopcore.http")


def metrics_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="shopcore",
        prefix="shopcore",
        group_path=True,
        exclude=[METRICS_PATH],
        middleware_class=RequestMetrics,
    )


class RequestMetrics(PrometheusMiddleware):
    """Litestar's `PrometheusMiddleware` with the same metrics, labels and values, recorded
    for less: its own builds a `Request`, a label dict and four label lookups per request.
    Here each metric's child for one route, method and status is looked up once and kept.

    Only for this app's configuration (`metrics_config`: routes grouped by template, no extra
    labels, exemplars or excluded methods); it refuses any other."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        if not config.group_path or config.labels or config.exemplars:
            raise ValueError("RequestMetrics records only grouped paths without extra labels")
        if config.excluded_http_methods:
            raise ValueError("RequestMetrics records every method")
        super().__init__(app, config)
        self._app_name = config.app_name
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any | None]] = {}
        self._in_progress: dict[tuple[str, str], Any] = {}

    def _labels(self, method: str, path: str, status: int) -> dict[str, str | int | float]:
        # The order of Litestar's labels, which names the metrics' label names.
        return {"method": method, "path": path, "status_code": status, "app_name": self._app_name}

    def in_progress(self, method: str, path: str) -> Any:
        """The requests-in-progress gauge of a route template and method."""
        gauge = self._in_progress.get((method, path))
        if gauge is None:
            labels = self._labels(method, path, 200)  # Litestar's gauge is labelled status 200
            gauge = self.requests_in_progress(labels).labels(*labels.values())
            self._in_progress[method, path] = gauge
        return gauge

    def record(self, method: str, path: str, status: Any, seconds: float) -> None:
        """Counts one finished request, as Litestar's middleware does."""
        recorders = self._children.get((method, path, status))
        if recorders is None:
            labels = self._labels(method, path, status)
            values = [*labels.values()]
            errors = self.requests_error_count(labels).labels(*values) if status >= 500 else None
            recorders = (
                self.request_count(labels).labels(*values),
                self.request_time(labels).labels(*values),
                errors,
            )
            self._children[method, path, status] = recorders
        count, duration, errors = recorders
        if errors is not None:
            errors.inc()
        count.inc()
        duration.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"] if scope["type"] == ScopeType.HTTP else scope["type"]
        path = scope["path_template"]
        gauge = self.in_progress(method, path)
        started = time.perf_counter()
        span: list[Any] = [200, 0.0]  # status, seconds until the last body message

        async def wrapped_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                span[0] = message["status"]  # type: ignore[typeddict-item]
            elif kind == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        gauge.inc()
        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            gauge.dec()
            self.record(method, path, span[0], span[1])


def scraper_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The metrics token as a bearer token; with none configured, a loopback client only."""
    require_scraper(connection, connection.app.state["services"].config.metrics_token)


def require_scraper(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> None:
    """`scraper_only`'s rule for any app serving metrics (the worker's too): `token` as a
    bearer token, or with no token (empty) a loopback client."""
    if token:
        sent = connection.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return
        raise NotAuthorizedException(
            "send the metrics token as a bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="shopcore-metrics"'},
        )
    host = connection.client.host if connection.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise NotAuthorizedException(
        "metrics are served to this host only unless SHOPCORE_METRICS_TOKEN is set",
        headers={"WWW-Authenticate": 'Bearer realm="shopcore-metrics"'},
    )


class MetricsController(PrometheusController):
    path = METRICS_PATH
    tags = ("operations",)

    @get(
        summary="Prometheus metrics",
        description="Request counts, durations and requests in progress per method, route "
        "template and status; checkouts by outcome and stock reservations refused; the "
        "events the relay has yet to publish and each consumer group's lag and pending "
        "events; the payment gateway's calls by operation and outcome and the wait for a "
        "database connection; and the process metrics, in the Prometheus text format. "
        "Needs `Authorization: Bearer <SHOPCORE_METRICS_TOKEN>`; with no token configured, "
        "only a client on the server's own host (loopback) is answered. Not rate limited.",
        media_type=CONTENT_TYPE_LATEST,
        guards=[scraper_only],
        security=[{"MetricsToken": []}],
        responses={401: problem(401, "unauthorized", "No metrics token, or another one")},
    )
    async def get(self, services: NamedDependency[ApiServices]) -> Response[Any]:
        for refresh in services.before_metrics:
            try:
                await refresh()
            except Exception:  # a backlog that cannot be read leaves its last value
                logger.warning("a metrics refresh failed", exc_info=True)
        # Litestar's handler (multiprocess collection when PROMETHEUS_MULTIPROC_DIR is set).
        response: Response[Any] = await PrometheusController.get.fn(self)
        return response
