"""`Idempotency-Key` for the requests that move money or stock (Stripe's rules): the same key
with the same request replays the stored response, with another request answers 422, and
while the first request still runs answers 409. Keys are per caller and expire.

Work that creates something durable (a checkout's order) names it in the claim
(`Resource`): the answer is then part of the work. A retry that finds the first request
unfinished is answered from the order (`Resource.answer`: the order is driven to its end
first if its request died), so a crash after the order was confirmed still answers 201, and a
key whose checkout died gets the recovered outcome, not a 409 until the key goes stale.

So a success of such work is not written down at all: every replay is answered from the
resource, as a retry after a crash would be, and shows the order as it is now (its id never
changes). That is one statement and one commit fewer on every checkout, and the record keeps
no copy of the order and its shipping address. An error answer is written as for any request:
the resource may not exist (the stock ran out before the order was saved)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Request, Response

from adapters.http.problems import PROBLEM_JSON, problem_response, shop_error
from shopcore.application.idempotency import IdempotencyStore, InFlight, Mismatch, Replay
from shopcore.shared.errors import ShopError

logger = logging.getLogger("shopcore.http")

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe accepts
_encoder = msgspec.json.Encoder()


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _raw(status: int, body: bytes, *, replayed: bool) -> Response[bytes]:
    media_type = PROBLEM_JSON if status >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=status, media_type=media_type, headers=headers)


@dataclass(frozen=True)
class Resource:
    """Work that creates something durable (a checkout's order): its id, claimed with the key;
    how to answer from it when the request that started the work died (`answer` returns None
    while the outcome is not known yet: the work may still be running); and whether the work
    lives on after its request answered 5xx (`alive`: then the key waits for its outcome
    instead of being freed for a new attempt)."""

    id: str
    answer: Callable[[str, datetime], Awaitable[Response[Any] | None]]
    alive: Callable[[str], Awaitable[bool]]


async def run_once(
    request: Request[Any, Any, Any],
    store: IdempotencyStore,
    *,
    owner: str,
    key: str | None,
    ttl: timedelta,
    work: Callable[[], Awaitable[Response[Any]]],
    required: bool = True,
    resource: Resource | None = None,
) -> Response[Any]:
    if key is None:
        if required:
            return problem_response(
                400,
                "Idempotency key required",
                "idempotency-key-required",
                f"send an {HEADER} header (any unique string up to 255 characters)",
            )
        return await work()
    if not _KEY.fullmatch(key):
        return problem_response(
            400,
            "Invalid idempotency key",
            "idempotency-key-invalid",
            f"{HEADER} must be 1 to 255 visible ASCII characters",
        )
    now = datetime.now(UTC)
    claim = await store.claim(
        owner,
        key,
        fingerprint(request.method, request.url.path, await request.body()),
        now,
        now + ttl,
        resource.id if resource is not None else None,
    )
    if isinstance(claim, Replay):
        return _raw(claim.status_code, claim.body, replayed=True)
    if isinstance(claim, InFlight):
        answered = await _answer_in_flight(request, claim, resource)
        if answered is not None:
            if _from_resource(answered):
                return _sent(answered, replayed=True)
            return await _record(request, store, owner, key, answered, replayed=True)
        return problem_response(
            409,
            "Request in progress",
            "idempotency-key-in-use",
            "a request with this idempotency key is still being processed; retry later",
            headers={"Retry-After": "1"},
        )
    if isinstance(claim, Mismatch):
        return problem_response(
            422,
            "Idempotency key reused",
            "idempotency-key-reused",
            "this idempotency key was already used for a different request",
        )
    try:
        response: Response[Any] = await work()
    except ShopError as error:
        response = shop_error(request, error)
    except BaseException:
        if resource is None:
            await _quietly(store.abandon(owner, key))
        # else: the work's resource may exist; a retry is answered from it, never re-run.
        raise
    failed = (response.status_code or 200) >= 500
    if resource is not None and failed and await _still_alive(resource):
        # A fault of the shop's own left the work unfinished: the key waits for its outcome
        # (a retry is answered from the resource), and nothing is written.
        return response
    if resource is not None and _from_resource(response):
        return _sent(response, replayed=False)  # a replay is answered from the resource
    return await _record(request, store, owner, key, response, replayed=False)


def _from_resource(response: Response[Any]) -> bool:
    """Whether this answer of resource-backed work is one its resource gives again: a success
    (the resource exists). An error answer may have no resource behind it."""
    return 200 <= (response.status_code or 200) < 300


async def _still_alive(resource: Resource) -> bool:
    try:
        return await resource.alive(resource.id)
    except Exception:  # cannot tell (the database is down): keep the key for the outcome
        return True


async def _answer_in_flight(
    request: Request[Any, Any, Any], claim: InFlight, resource: Resource | None
) -> Response[Any] | None:
    """The outcome of a request that has not finished, if its resource knows it."""
    if resource is None or claim.resource is None or claim.since is None:
        return None
    try:
        return await resource.answer(claim.resource, claim.since)
    except ShopError as error:
        return shop_error(request, error)


async def _record(
    request: Request[Any, Any, Any],
    store: IdempotencyStore,
    owner: str,
    key: str,
    response: Response[Any],
    *,
    replayed: bool,
) -> Response[Any]:
    """Keep the answer for replays (or free the key after a 5xx, which is worth retrying) and
    send it. The answer goes out even when the record cannot be written (the database just
    failed): a retry then finds the key in flight and, for work with a resource, is answered
    from it."""
    status = response.status_code or 200
    body = _encoder.encode(response.content)
    if status >= 500:
        await _quietly(store.abandon(owner, key))
    else:
        await _quietly(store.finish(owner, key, status, body))
    return _sent(response, replayed=replayed, body=body)


def _sent(response: Response[Any], *, replayed: bool, body: bytes | None = None) -> Response[Any]:
    """`response` as it goes out: its content encoded, and marked when it is a replay."""
    status = response.status_code or 200
    raw = _raw(
        status, _encoder.encode(response.content) if body is None else body, replayed=replayed
    )
    raw.headers.update({k: v for k, v in response.headers.items() if k.lower() != "content-type"})
    return raw


async def _quietly(write: Awaitable[None]) -> None:
    try:
        await write
    except Exception:
        logger.warning("could not write an idempotency record", exc_info=True)
