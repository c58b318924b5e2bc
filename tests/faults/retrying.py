"""How the operator's clients retry: the same request (with the same `Idempotency-Key`, when
it has one) after no answer, after 409 `idempotency-key-in-use` and after 503, waiting as
Retry-After says but never more than CAP; anything else is the request's answer.

A 503 is tried again RETRIES_OF_503 times in a row, then taken as the answer: tok_error's
gateway outage never ends, and a client does not wait for ever. No answer and "in use" are
retried until `budget` runs out: the shop promises an answer for the key once the work it
names has settled (SETTLE_WITHIN after it started, plus a recovery pass).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

CAP = 2.0
RETRIES_OF_503 = 3
IN_USE = "idempotency-key-in-use"


def retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    return min(CAP, max(0.1, seconds))


async def persist(
    send: Callable[[], Awaitable[httpx.Response | None]], *, budget: float
) -> httpx.Response | None:
    """`send()` until its answer is final or `budget` seconds are spent; returns the last
    answer (None: the last try got none)."""
    deadline = time.monotonic() + budget
    unanswered_delay = 0.1
    unavailable = 0
    while True:
        response = await send()
        if response is None:
            wait = unanswered_delay
            unanswered_delay = min(CAP, unanswered_delay * 2)
        elif response.status_code == 409 and _code(response) == IN_USE:
            wait = retry_after(response)
        elif response.status_code == 503 and unavailable < RETRIES_OF_503:
            unavailable += 1
            wait = retry_after(response)
        else:
            return response
        if time.monotonic() + wait > deadline:
            return response
        await asyncio.sleep(wait)


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        return ""
