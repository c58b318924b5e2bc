"""Cross-cutting protections every route gets: rate limits, security headers, CORS, body
limits, and problem documents for malformed requests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tests.support.api import Api, api_app, test_settings
from tests.support.databases import fresh_sqlite


async def _client(tmp_path: Path, **changes: object) -> tuple[Litestar, AsyncTestClient[Litestar]]:
    engine = await fresh_sqlite(tmp_path)
    await engine.dispose()
    settings = test_settings(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", **changes)
    app, _, side = api_app(settings)
    await side.aclose()
    return app, AsyncTestClient(app)


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    _, client = await _client(tmp_path, rate_limit_per_minute=3)
    async with client:
        yield client


@pytest.fixture
async def with_cors(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    _, client = await _client(tmp_path, cors_origins=("https://shop.example",))
    async with client:
        yield client


async def test_a_client_over_its_rate_limit_gets_429_with_retry_after(
    limited: AsyncTestClient[Litestar],
) -> None:
    statuses = [(await limited.get("/v1/products")).status_code for _ in range(3)]
    over = await limited.get("/v1/products")

    assert statuses == [200, 200, 200]
    assert over.status_code == 429
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["type"].endswith("/rate-limited")
    assert int(over.headers["retry-after"]) > 0


async def test_rate_limit_headers_count_down_to_the_refusal(
    limited: AsyncTestClient[Litestar],
) -> None:
    answers = [await limited.get("/v1/products") for _ in range(4)]

    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["ratelimit-limit"] for a in answers} == {"3"}
    assert answers[0].headers["ratelimit-policy"] == "3; w=60"
    assert 0 < int(answers[-1].headers["retry-after"]) <= 60
    assert 0 < int(answers[-1].headers["ratelimit-reset"]) <= 60


async def test_health_probes_are_never_rate_limited(limited: AsyncTestClient[Litestar]) -> None:
    statuses = [(await limited.get("/health/live")).status_code for _ in range(10)]

    assert statuses == [200] * 10


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    for response in (
        await api.client.get("/v1/products"),
        await api.client.get("/v1/products/missing"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "max-age" in response.headers["strict-transport-security"]


async def test_responses_answered_outside_any_route_carry_them_too(
    limited: AsyncTestClient[Litestar],
) -> None:
    unknown = await limited.get("/v1/nothing-here")  # 404: no route
    wrong_method = await limited.delete("/v1/products")  # 405
    for _ in range(3):
        await limited.get("/v1/products")
    refused = await limited.get("/v1/products")  # 429: raised by the limiter

    assert [unknown.status_code, wrong_method.status_code, refused.status_code] == [404, 405, 429]
    for response in (unknown, wrong_method, refused):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "max-age" in response.headers["strict-transport-security"]
        assert response.headers["cache-control"] == "no-store"


async def test_only_catalog_reads_may_be_kept_and_only_if_revalidated(api: Api) -> None:
    listing = await api.client.get("/v1/products")
    missing = await api.client.get("/v1/products/missing")
    token = await api.client.post("/v1/auth/token", json={"email": "x@example.com"})

    # A catalog read has an ETag: browsers may keep it but must ask again (If-None-Match).
    assert listing.headers["cache-control"] == "no-cache"
    assert missing.headers["cache-control"] == "no-store"
    assert token.headers["cache-control"] == "no-store"


async def test_cors_allows_only_the_configured_origins(
    with_cors: AsyncTestClient[Litestar],
) -> None:
    allowed = await with_cors.options(
        "/v1/products",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
    )
    refused = await with_cors.options(
        "/v1/products",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_without_configured_origins_no_cors_headers_are_sent(api: Api) -> None:
    response = await api.client.get("/v1/products", headers={"Origin": "https://shop.example"})

    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/v1/products?limit=abc",
        "/v1/products?limit=0",
        "/v1/products?min_price=-1",
        "/v1/products?min_price=99999999999999999999999999",
        "/v1/products?cursor=%00%01",
        "/v1/products?q=" + "x" * 500,
        "/v1/products?category=%F0%9F%98%80%E2%80%AE",
        # NUL: PostgreSQL can neither store nor compare it (the product page answered 500).
        "/v1/products/%00",
        "/v1/products/tee%00",
        "/v1/products?q=%00",
        "/v1/products?category=shirts%00",
        "/v1/inventory/TEE-M",
        "/v1/inventory/TEE%00",
    ],
)
async def test_malformed_queries_get_a_4xx_problem_never_a_500(api: Api, path: str) -> None:
    response = await api.client.get(path)

    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("https://shopcore.dev/problems/")


async def test_an_unknown_route_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_method_is_a_405_problem(api: Api) -> None:
    response = await api.client.delete("/v1/products")

    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/v1/auth/logout", "/v1/auth/token", "/v1/customers"])
async def test_json_nested_too_deep_is_a_400_problem_not_a_500(api: Api, path: str) -> None:
    """A few KB of brackets made the decoder recurse past Python's limit (500)."""
    deep = b'{"email": ' + b"[" * 1000 + b"]" * 1000 + b"}"

    response = await api.client.post(
        path, content=deep, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "nests deeper" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
@pytest.mark.parametrize("path", ["/v1/customers", "/v1/auth/token"])
async def test_a_body_that_is_not_declared_json_is_a_415_problem(
    api: Api, path: str, content_type: str | None
) -> None:
    """Cross-site form posts send these without a CORS preflight: the routes must not act on
    them (registration past the per-address limit from visitors' browsers)."""
    body = b'{"email": "form@example.com", "password": "a long enough password"}'
    headers = {} if content_type is None else {"Content-Type": content_type}

    response = await api.client.post(path, content=body, headers=headers)

    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/unsupported-media-type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/JSON"])
async def test_json_with_parameters_or_in_capitals_is_json(api: Api, content_type: str) -> None:
    body = b'{"email": "caps@example.com", "password": "a long enough password"}'

    response = await api.client.post(
        "/v1/customers", content=body, headers={"Content-Type": content_type}
    )

    assert response.status_code == 201, response.text


async def test_a_route_with_its_own_limit_tells_the_one_nearest_to_refusing(
    tmp_path: Path,
) -> None:
    """Login is counted by its own limit and by the default one: the client gets one set of
    RateLimit-* headers, the limit that refuses it first, not both (the default's first)."""
    _, client = await _client(tmp_path, rate_limit_per_minute=50, auth_rate_limit_per_minute=3)
    login = {"email": "nobody@example.com", "password": "not the password at all"}
    async with client:
        for _ in range(2):
            await client.get("/v1/products")  # the default limit only
        answers = [await client.post("/v1/auth/token", json=login) for _ in range(3)]
        after = await client.get("/v1/products")

    for answer in answers:
        for name in ("ratelimit-policy", "ratelimit-limit", "ratelimit-remaining"):
            assert len(answer.headers.get_list(name)) == 1, answer.headers
        assert answer.headers["ratelimit-limit"] == "3"
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert after.headers["ratelimit-limit"] == "50"
    assert after.headers["ratelimit-remaining"] == str(50 - 6)


async def test_unknown_paths_and_wrong_methods_count_against_the_limit(
    limited: AsyncTestClient[Litestar],
) -> None:
    """Litestar answers them while routing, before any route's limiter: a scanner probed
    paths without limit, and the answers had no RateLimit-* headers."""
    answers = [
        await limited.get("/v1/no-such-path"),
        await limited.delete("/v1/products"),
        await limited.get("/v1/products"),
    ]
    over = await limited.get("/v1/another-missing-path")

    assert [a.status_code for a in answers] == [404, 405, 200]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert over.status_code == 429
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["code"] == "rate-limited"
    assert int(over.headers["retry-after"]) > 0
    assert over.headers["x-content-type-options"] == "nosniff"


async def test_the_docs_page_loads_everything_from_this_origin_under_a_csp(api: Api) -> None:
    """Swagger UI came from a CDN without integrity hashes, under no CSP; the page must render
    without internet access too."""
    page = await api.client.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html.replace(" ", "")  # no inline script: the CSP allows none
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'none'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(sources) >= 4
    for source in sources:
        assert source.startswith("/docs/assets/"), source
        asset = await api.client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
    spec = await api.client.get("/docs/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
    # Only the files the page loads: not the package's others, nor anything outside it.
    for other in ("/docs/assets/index.html", "/docs/assets/..%2F__init__.py"):
        assert (await api.client.get(other)).status_code == 404, other


async def test_api_answers_carry_a_policy_that_allows_nothing(api: Api) -> None:
    response = await api.client.get("/v1/products")

    assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_options_lists_every_method_of_every_path(api: Api) -> None:
    """`Allow` missed methods registered after a path's first (DELETE of a cart line, PATCH of
    a product): Litestar 2's own OPTIONS handler kept the first route's methods."""
    staff = api.token_for(await api.staff())
    checked = 0
    for route in api.app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/docs/assets"):
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        response = await api.client.options(path, headers={"Authorization": f"Bearer {staff}"})
        assert response.status_code == 204, (route.path, response.text)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed == set(route.methods), route.path
        checked += 1
    assert checked > 20
