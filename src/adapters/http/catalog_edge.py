"""Cached catalog reads answered before routing: `GET /v1/products` (no query) and
`GET /v1/products/{product_id}` when this process's copy of the catalog cache holds the answer.

A hit through Litestar costs its routing, two exception-handler layers, the route's middleware,
parameter parsing, dependency injection and the response's headers: several times the work
the answer needs, which is a lookup and two messages. This layer sits inside the security
headers (edge.py) and outside everything else, and answers a hit itself with what the full path
would have answered: the same status, header pairs (in the same order) and body
(`caching.sent`), counted by the same rate limit in the same window (the limiter's own count,
`FixedWindowRateLimitMiddleware.count`, under the same key) and recorded in the same metrics
series (`RequestMetrics`, by route template).

A product this process has not cached (or every product, with the cache off) is loaded here
too, by the very loader the route uses (`controllers.catalog.detail`), through the same cache
(`CatalogReads.read`), and answered as a hit would be: for an uncached product page the route
cost more than its one read and its encoding (bench item 1).

Anything it cannot answer exactly the same way goes on to Litestar, untouched: another method,
path or any query string; a listing not in this process's cache; a product id the route's
pattern refuses (a 400 there); an `Origin` (CORS adds headers); more than one `If-None-Match`
or one longer than the route accepts (a 400 there); a client over its limit. A product the
loader does not find (404) or cannot load (a database fault: 503) goes on too, after its
count: the limiter is told the count instead of counting again, and Litestar reads once more
and answers as always. So a missing product costs two reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.http.caching import IF_NONE_MATCH_MAX, matches, sent
from adapters.http.controllers.catalog import ID_OR_SLUG_PATTERN, LISTING_DEFAULT_KEY, detail_key
from adapters.http.controllers.metrics import RequestMetrics
from adapters.http.throttling import PRECOUNTED, FixedWindowRateLimitMiddleware
from adapters.machinery.cached_reads import CatalogRead, CatalogReads

# A product's loader by id or slug: `controllers.catalog.detail` bound to the app's services.
DetailLoader = Callable[[str], Callable[[], Awaitable[CatalogRead]]]

LISTING_PATH = "/v1/products"
DETAIL_PREFIX = "/v1/products/"
# The ids the route's parameter accepts: any other goes to Litestar, which answers the 400.
_ID_OR_SLUG = re.compile(ID_OR_SLUG_PATTERN)
# The route templates the metrics are labelled with (Litestar's `path_template`).
LISTING_TEMPLATE = "/v1/products"
DETAIL_TEMPLATE = "/v1/products/{product_id}"


ROUTES = ("/v1/products", "/v1/products/{product_id:str}")


def answers_like_litestar(app: Litestar, middleware: Sequence[object]) -> bool:
    """Whether Litestar does to the catalog's GETs nothing but what this layer does: the
    route's middleware is exactly `middleware` (the metrics and the default rate limit), and
    no guard, hook, route header or cookie, response cache, CSRF, compression or host check
    applies. Anything added later turns the edge path off (`create_app`) rather than being
    skipped by it."""
    if app.before_send or app.csrf_config or app.compression_config or app.allowed_hosts:
        return False
    found = 0
    for route in app.routes:
        if route.path not in ROUTES or not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" not in handler.http_methods:
                continue
            found += 1
            plain = (
                not handler.resolve_guards()
                and handler.resolve_before_request() is None
                and all(layer.after_request is None for layer in handler.ownership_layers)
                and handler.resolve_after_response() is None
                and not handler.resolve_response_headers()
                and not handler.resolve_response_cookies()
                and not handler.cache
                and _same(handler.resolve_middleware(), middleware)
            )
            if not plain:
                return False
    return found == len(ROUTES)


def _same(these: Sequence[object], those: Sequence[object]) -> bool:
    # The very middleware objects, in whatever order Litestar keeps them.
    return len(these) == len(those) and {id(m) for m in these} == {id(m) for m in those}


class CatalogEdge:
    def __init__(
        self,
        app: ASGIApp,
        reads: CatalogReads,
        limiter: FixedWindowRateLimitMiddleware,
        metrics: RequestMetrics,
        *,
        detail: DetailLoader | None = None,
    ) -> None:
        self.app = app
        self._reads = reads
        self._detail = detail
        self._limiter = limiter
        self._metrics = metrics
        # Paths either middleware leaves alone are left to Litestar (neither does today).
        patterns = [p for p in (limiter.exclude_pattern, metrics.exclude_pattern) if p]
        self._excluded = any(
            p.findall(path) for p in patterns for path in (LISTING_PATH, DETAIL_PREFIX + "x")
        )
        self._on = (
            limiter.by_address
            and limiter.config.set_rate_limit_headers
            and not limiter.exclude_opt_key
            and not metrics.exclude_opt_key
            and not self._excluded
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = self._on and await self._answer(scope, send)
        if not answered:
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        request: Any = scope  # an HTTP scope once its type says so
        if request["type"] != "http" or request["method"] != "GET" or request.get("root_path"):
            return False
        path = scope["path"]
        load: Callable[[], Awaitable[CatalogRead]] | None = None
        if path == LISTING_PATH:
            if scope["query_string"]:
                return False
            key, template = LISTING_DEFAULT_KEY, LISTING_TEMPLATE
        elif path.startswith(DETAIL_PREFIX):
            product_id = path[len(DETAIL_PREFIX) :]
            if not product_id or "/" in product_id or scope["query_string"]:
                return False
            key, template = detail_key(product_id), DETAIL_TEMPLATE
            if self._detail is not None and _ID_OR_SLUG.fullmatch(product_id):
                load = self._detail(product_id)
        else:
            return False
        cached = self._reads.peek(key)
        if cached is None and load is None:
            return False
        if_none_match: str | None = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if if_none_match is not None:
                    return False
                if_none_match = value.decode("latin-1")
            elif name == b"origin":
                return False
        if if_none_match is not None and len(if_none_match) > IF_NONE_MATCH_MAX:
            return False

        limiter = self._limiter
        count, closes_in = await limiter.count(scope["litestar_app"], limiter.address_key(scope))
        if count > limiter.max_requests:
            scope[PRECOUNTED] = (limiter.config, count, closes_in)  # type: ignore[literal-required]
            return False

        gauge = self._metrics.in_progress("GET", template)
        gauge.inc()
        started = time.perf_counter()
        if cached is None:
            assert load is not None
            try:
                cached = await self._reads.read(key, load)
            except Exception:
                gauge.dec()
                # No such product (404) or a fault (503): Litestar answers, with this count.
                scope[PRECOUNTED] = (limiter.config, count, closes_in)  # type: ignore[literal-required]
                return False
        status: Any = 200
        seconds = 0.0
        try:
            status, headers, body = sent(
                cached.etag, cached.body, not_modified=matches(if_none_match, cached.etag)
            )
            headers += limiter.raw_headers(count, closes_in)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            seconds = time.perf_counter() - started
        finally:
            gauge.dec()
            self._metrics.record("GET", template, status, seconds)
        return True
