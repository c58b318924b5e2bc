"""What every staff route shares: the `staff_only` guard, the caller, and the errors it adds."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from adapters.http.idempotency import HEADER
from adapters.http.problem_docs import INVALID_REQUEST, UNAUTHORIZED, problem
from adapters.http.security import required_principal, staff_only

FORBIDDEN = problem(403, "forbidden", "The access token is a customer's, not staff's", "staff only")
# Every staff route answers these; routes add their own.
STAFF_ERRORS: dict[int, ResponseSpec] = {
    400: INVALID_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
}
KEY_ERRORS: dict[int, ResponseSpec] = {
    409: problem(
        409,
        "idempotency-key-in-use",
        "A request with this `Idempotency-Key` is still running; retry shortly",
    ),
    422: problem(
        422,
        "idempotency-key-reused",
        "The `Idempotency-Key` was used for a different request",
        "this idempotency key was already used for a different request",
    ),
}

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        required=True,
        max_length=255,
        description="a unique string per change (a UUID will do); resending the same key "
        "with the same body replays the first answer instead of changing anything twice. "
        "Keys belong to the staff member and expire after 24 hours.",
    ),
]


class StaffController(Controller):
    """401 without a token, 403 with a customer's; `principal` is the staff member."""

    guards = [staff_only]  # noqa: RUF012 - Litestar reads the class attribute
    dependencies = {"principal": Provide(required_principal)}  # noqa: RUF012
    security = ({"BearerToken": []},)
