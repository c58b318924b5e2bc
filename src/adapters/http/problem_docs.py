"""OpenAPI entries for the problem responses routes give, each with an example body, so a
route lists its errors as `responses={404: problem(404, "not-found", "No such cart")}`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from adapters.http.problems import PROBLEM_JSON, STATUS_OF, TYPE_BASE, Problem

# The titles the handlers in problems.py and idempotency.py give each code.
TITLES = {kind.code: title for kind, _status, title in STATUS_OF} | {
    "invalid-request": "Invalid request",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "idempotency-key-required": "Idempotency key required",
    "idempotency-key-invalid": "Invalid idempotency key",
    "idempotency-key-in-use": "Request in progress",
    "idempotency-key-reused": "Idempotency key reused",
}


def problem(
    status: int, code: str, description: str, detail: str = "", **extra: Any
) -> ResponseSpec:
    """One documented problem response with an example body (`extra`: its other members)."""
    example = Problem(
        type=TYPE_BASE + code,
        title=TITLES.get(code, description),
        status=status,
        detail=detail,
        code=code,
        **extra,
    )
    return ResponseSpec(
        Problem,
        description=description,
        media_type=PROBLEM_JSON,
        generate_examples=False,
        examples=[Example(summary=code, value=msgspec.to_builtins(example))],
    )


INVALID_REQUEST = problem(
    400,
    "invalid-request",
    "The body, a header or a parameter is malformed, out of bounds or has unknown fields",
    "Object contains unknown field `price` - at `$`",
)
UNAUTHORIZED = problem(
    401, "unauthorized", "No valid access token", "this endpoint needs an access token"
)
INVALID_INPUT = problem(
    422, "invalid-input", "The request is well-formed but the shop refuses its values"
)
