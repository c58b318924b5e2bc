"""Every answer the shoppers and staff got, and the client that gets them.

`Client` is one actor's view of the deployment: each request goes to one of the two API
instances (the actor's seeded choice, as a load balancer spreads them; a retry may land on
the other) and is recorded as an `Answer`, a transport error (refused, reset, timed out) as
an answer with no status. The invariants read the record afterwards: no 500, every other 5xx
a 503 with Retry-After, and a transport error only where an API process was down.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    actor: str
    route: str  # "POST /v1/checkout": the route's template, not the path with its ids
    instance: int  # which API (0 or 1)
    status: int | None  # None: no answer (the error says why)
    started: float  # seconds since the run began
    ended: float
    error: str = ""  # the transport error's class
    code: str = ""  # a problem's `code`
    retry_after: str | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        """`201`, `409 idempotency-key-in-use`, `ReadError`: what the report counts."""
        if self.status is None:
            return self.error
        return f"{self.status} {self.code}".strip()


@dataclass
class Answers:
    """The run's record; `origin` is time.monotonic() at the run's start, `began` the same
    moment by the wall clock (for the processes' own timestamps)."""

    origin: float = field(default_factory=time.monotonic)
    began: datetime = field(default_factory=lambda: datetime.now(UTC))
    items: list[Answer] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.origin

    def counts(self) -> Counter[str]:
        return Counter(answer.label for answer in self.items)

    def save(self, path: Path) -> None:
        """Every answer, one JSON line each, for a look after the run."""
        with path.open("w") as file:
            for answer in self.items:
                file.write(json.dumps(dataclasses.asdict(answer)) + "\n")


class Client:
    """One actor's requests, spread over the API instances and recorded."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        bases: list[str],
        answers: Answers,
        actor: str,
        token: str,
        rng: random.Random,
    ) -> None:
        self._http = http
        self._bases = bases
        self._answers = answers
        self.actor = actor
        self._headers = {"Authorization": f"Bearer {token}"}
        self.rng = rng

    async def request(
        self,
        method: str,
        route: str,
        path: str,
        *,
        key: str | None = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response | None:
        """The response, or None when no answer came (recorded either way)."""
        instance = self.rng.randrange(len(self._bases))
        headers = dict(self._headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        started = self._answers.now()
        try:
            response = await self._http.request(
                method,
                self._bases[instance] + path,
                content=content,
                params=params,
                headers=headers,
            )
        except httpx.TransportError as error:
            self._record(method, route, instance, None, started, error=type(error).__name__)
            return None
        problem = _problem(response)
        self._record(
            method,
            route,
            instance,
            response.status_code,
            started,
            code=str(problem.get("code", "")),
            retry_after=response.headers.get("retry-after"),
            detail=str(problem.get("detail", ""))[:200],
        )
        return response

    def _record(
        self,
        method: str,
        route: str,
        instance: int,
        status: int | None,
        started: float,
        **details: Any,
    ) -> None:
        self._answers.items.append(
            Answer(
                actor=self.actor,
                route=f"{method} {route}",
                instance=instance,
                status=status,
                started=started,
                ended=self._answers.now(),
                **details,
            )
        )


def _problem(response: httpx.Response) -> dict[str, Any]:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
