"""`GET /metrics` for Prometheus: Litestar's own controller, documented like every route.

The request metrics come from Litestar's `PrometheusMiddleware` (see `metrics_config`), labelled
by route template rather than raw path, so ids in paths cannot explode the label set.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST

METRICS_PATH = "/metrics"


def metrics_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="shopcore",
        prefix="shopcore",
        group_path=True,
        exclude=[METRICS_PATH],
    )


class MetricsController(PrometheusController):
    path = METRICS_PATH
    tags = ("operations",)

    @get(
        summary="Prometheus metrics",
        description="Request counts, durations and requests in progress per method, route "
        "template and status, plus the process metrics, in the Prometheus text format. "
        "Not rate limited; keep it off the public internet.",
        media_type=CONTENT_TYPE_LATEST,
    )
    async def get(self) -> Response[Any]:
        # Litestar's handler (multiprocess collection when PROMETHEUS_MULTIPROC_DIR is set).
        response: Response[Any] = await PrometheusController.get.fn(self)
        return response
