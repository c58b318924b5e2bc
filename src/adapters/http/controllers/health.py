"""Liveness and readiness for the orchestrator."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from adapters.http.services import ReadinessCheck

logger = logging.getLogger("shopcore.http")


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


def _health(description: str, example: Health) -> ResponseSpec:
    return ResponseSpec(
        Health,
        description=description,
        generate_examples=False,
        examples=[Example(summary=example.status, value=msgspec.to_builtins(example))],
    )


class HealthController(Controller):
    path = "/health"
    tags = ("operations",)
    include_in_schema = True

    @get(
        "/live",
        summary="Liveness",
        description="The process is up and serving requests.",
        responses={200: _health("The process is up", Health(status="ok"))},
    )
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        summary="Readiness",
        description="The database answers, at the schema this code needs, and, when "
        "configured, Redis. Without the database the process is `unavailable` (503); "
        "without Redis it is `degraded` but still answers 200 (it serves without Redis: rate "
        "limits count per process, new live stock streams wait), naming the failing check.",
        responses={
            200: _health("Ready, or degraded", Health(status="ok", checks={"database": "ok"})),
            503: _health(
                "A required check failed",
                Health(status="unavailable", checks={"database": "failing", "redis": "ok"}),
            ),
        },
    )
    async def ready(self, readiness: NamedDependency[Sequence[ReadinessCheck]]) -> Response[Health]:
        checks: dict[str, str] = {}
        status = "ok"
        for name, check, required in readiness:
            try:
                await check()
                checks[name] = "ok"
            except Exception:  # a readiness probe reports, it never raises
                logger.warning("readiness check %s failed", name, exc_info=True)
                checks[name] = "failing"
                if required:
                    status = "unavailable"
                elif status == "ok":
                    status = "degraded"
        return Response(
            Health(status=status, checks=checks),
            status_code=503 if status == "unavailable" else 200,
        )
