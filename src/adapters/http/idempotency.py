"""`Idempotency-Key` for the requests that move money or stock (Stripe's rules): the same key
with the same request replays the stored response, with another request answers 422, and
while the first request still runs answers 409. Keys are per caller and expire."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Request, Response

from adapters.http.problems import PROBLEM_JSON, problem_response, shop_error
from shopcore.application.idempotency import IdempotencyStore, InFlight, Mismatch, Replay
from shopcore.shared.errors import ShopError

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe accepts
_encoder = msgspec.json.Encoder()


def fingerprint(request: Request[Any, Any, Any], body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _raw(status: int, body: bytes, *, replayed: bool) -> Response[bytes]:
    media_type = PROBLEM_JSON if status >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=status, media_type=media_type, headers=headers)


async def run_once(
    request: Request[Any, Any, Any],
    store: IdempotencyStore,
    *,
    owner: str,
    key: str | None,
    ttl: timedelta,
    work: Callable[[], Awaitable[Response[Any]]],
    required: bool = True,
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
        owner, key, fingerprint(request, await request.body()), now, now + ttl
    )
    if isinstance(claim, Replay):
        return _raw(claim.status_code, claim.body, replayed=True)
    if isinstance(claim, InFlight):
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
        await store.abandon(owner, key)
        raise
    status = response.status_code or 200
    body = _encoder.encode(response.content)
    if status >= 500:
        await store.abandon(owner, key)  # worth retrying with the same key
    else:
        await store.finish(owner, key, status, body)
    raw = _raw(status, body, replayed=False)
    raw.headers.update({k: v for k, v in response.headers.items() if k.lower() != "content-type"})
    return raw
