"""A request id for every HTTP request: the caller's `X-Request-Id` when it is a plain token
(a proxy or a load balancer correlates its own logs with ours), else a new one. Every log line
written while the request is handled carries it (apps/logs.py reads `current`), and the
answer returns it, so a customer's error report leads to its log lines."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from contextvars import ContextVar

HEADER = b"x-request-id"
# No spaces, quotes or control characters: a log line cannot be forged through it.
_ACCEPTED = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")

current: ContextVar[str | None] = ContextVar("request_id", default=None)


def of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The request's id: the caller's, when acceptable, or a new one."""
    for name, value in headers:
        if name == HEADER and _ACCEPTED.match(value):
            return value.decode("ascii")
    return os.urandom(8).hex()
