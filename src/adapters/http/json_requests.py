"""JSON request bodies, checked before they are decoded.

Every route that takes a JSON body reads it through `Request.json`, so the checks live there:
- the body must say it is JSON (`application/json`, or a `+json` type): 415 otherwise. Litestar
  decoded any body as JSON whatever its type, so a cross-site form post (`text/plain` or
  form-encoded, sent without a CORS preflight) could drive the unauthenticated routes
  (registration, login) from visitors' browsers, spreading over their addresses past the
  per-address rate limit;
- it may nest at most `MAX_DEPTH` levels: 400 otherwise. msgspec recursed until Python's
  recursion limit and answered 500 (`RecursionError`) to a few KB of brackets, on every JSON
  route, unauthenticated ones included. No body the API takes nests beyond 4 levels.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException

MAX_DEPTH = 32
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")


class JsonRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        body = await self.body()
        if body:
            if not is_json(self.headers.get("content-type", "")):
                raise HTTPException(
                    status_code=415, detail="the body must be JSON (Content-Type: application/json)"
                )
            if nests_deeper(body, MAX_DEPTH):
                raise ClientException(f"the JSON nests deeper than {MAX_DEPTH} levels")
        return await super().json()


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def nests_deeper(body: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (brackets inside strings do not
    count). Counting the opening brackets first answers almost every body at C speed."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False
