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
        description="Every backing service answers: the database and, when configured, Redis. "
        "503 names the failing check.",
        responses={
            200: _health("Every check passed", Health(status="ok", checks={"database": "ok"})),
            503: _health(
                "A check failed",
                Health(status="unavailable", checks={"database": "ok", "redis": "failing"}),
            ),
        },
    )
    async def ready(self, readiness: NamedDependency[Sequence[ReadinessCheck]]) -> Response[Health]:
        checks: dict[str, str] = {}
        for name, check in readiness:
            try:
                await check()
                checks[name] = "ok"
            except Exception:  # a readiness probe reports, it never raises
                logger.warning("readiness check %s failed", name, exc_info=True)
                checks[name] = "failing"
        ok = all(state == "ok" for state in checks.values())
        return Response(
            Health(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )
