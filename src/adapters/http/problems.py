"""RFC 9457 problem details: every error leaves as `application/problem+json` with a stable
`type`, mapped once from the core's error codes. Nothing internal leaks into a 500."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from shopcore.shared.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Busy,
    CheckoutInterrupted,
    ConcurrencyConflict,
    Conflict,
    ConnectionLost,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PermissionDenied,
    ShopError,
    Unavailable,
)

logger = logging.getLogger("shopcore.http")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://shopcore.dev/problems/"


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem. `type` is a stable URI per kind of error; `code` its short form."""

    type: str
    title: str
    status: int
    detail: str = ""
    code: str = ""
    instance: str = ""
    errors: list[dict[str, Any]] | None = None  # which fields were wrong, when we know
    skus: list[str] | None = None  # out-of-stock: which SKUs are short


# Order matters: the first matching class decides (subclasses before their bases).
STATUS_OF: tuple[tuple[type[ShopError], int, str], ...] = (
    (OutOfStock, 409, "Out of stock"),
    (InsufficientStock, 409, "Insufficient stock"),
    (AlreadyExists, 409, "Already exists"),
    (IllegalTransition, 409, "Illegal state transition"),
    # A TransientConflict the bus did not retry (a read outside any command, an idempotency
    # key's claim): the database, not the request, failed; try again shortly.
    (ConnectionLost, 503, "Database connection lost"),
    (ConcurrencyConflict, 409, "Concurrent change"),
    (Conflict, 409, "Conflict"),
    (InvalidInput, 422, "Invalid input"),
    (NotFound, 404, "Not found"),
    (AuthenticationFailed, 401, "Authentication failed"),
    (PermissionDenied, 403, "Forbidden"),
    (PaymentDeclined, 402, "Payment declined"),
    (PaymentGatewayUnavailable, 503, "Payment gateway unavailable"),
    (CheckoutInterrupted, 503, "Checkout interrupted"),
    (Busy, 503, "Busy"),
    (Unavailable, 503, "Service unavailable"),
)


def problem_response(
    status: int,
    title: str,
    code: str,
    detail: str = "",
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Problem]:
    return Response(
        Problem(
            type=TYPE_BASE + code, title=title, status=status, detail=detail, code=code, **extra
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def shop_error(request: Request[Any, Any, Any], error: ShopError) -> Response[Problem]:
    for kind, status, title in STATUS_OF:
        if isinstance(error, kind):
            extra: dict[str, Any] = {}
            if isinstance(error, OutOfStock):
                extra["skus"] = list(error.skus)
            headers = {"Retry-After": "1"} if status == 503 else None
            if isinstance(error, AuthenticationFailed):
                headers = {"WWW-Authenticate": 'Bearer realm="shopcore"'}
            return problem_response(
                status, title, error.code, error.detail, headers=headers, **extra
            )
    return problem_response(400, "Bad request", error.code, error.detail)


_HTTP_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    429: ("rate-limited", "Too many requests"),
}


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    status = error.status_code
    code, title = _HTTP_CODES.get(status, ("http-error", "HTTP error"))
    headers = dict(error.headers or {})
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationException):
        code, title, status = "invalid-request", "Invalid request", 400
        extra["errors"] = _field_errors(error.extra)
    if isinstance(error, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="shopcore"')
    if isinstance(error, PermissionDeniedException):
        code, title = "forbidden", "Forbidden"
    if isinstance(error, TooManyRequestsException):
        headers.setdefault("Retry-After", "60")
    return problem_response(status, title, code, str(error.detail), headers=headers, **extra)


def _field_errors(extra: Any) -> list[dict[str, Any]] | None:
    if not isinstance(extra, list):
        return None
    return [
        {
            key: str(value)[:200]
            for key, value in item.items()
            if key in {"key", "message", "source"}
        }
        for item in extra
        if isinstance(item, dict)
    ] or None


def unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    # Log the details for operators; tell the client nothing about internals.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "internal-error",
        "the server failed to handle this request; it has been logged",
    )


def undecodable(request: Request[Any, Any, Any], error: UnicodeDecodeError) -> Response[Problem]:
    return problem_response(400, "Bad request", "bad-request", "the body is not valid UTF-8")


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    ShopError: shop_error,
    HTTPException: http_error,
    UnicodeDecodeError: undecodable,
    Exception: unexpected,
}
