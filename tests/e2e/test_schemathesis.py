"""Property-based API tests generated from the committed OpenAPI document: for every
operation, as a customer, as staff and without a token, generated requests (valid and invalid)
never get a 5xx, every response conforms to the document (status codes, content types, bodies,
`Allow`), every schema-valid request is accepted and every schema-violating one refused, save
the cases no schema can state (each left out with its reason); and chained through what they
create (the stateful phase).

The operations are read from the committed document, `openapi/openapi.json`, which
tests/integration/test_openapi_document.py keeps equal to the app's own. Schemathesis binds the
operations to an ASGI app at collection; they are bound to `APP`, which forwards to the app the
`world` fixture builds once per test session, so collecting the suite builds no app and opens
no database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.types import Receive, Scope, Send
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from adapters.memory.hasher import FastInsecureHasher
from apps.components import Components
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, RegisterCustomer, Variant
from tests.support.api import PASSWORD, api_app, test_settings
from tests.support.databases import delete_every_row, fresh_sqlite

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
# A quarter of the hypothesis profile's examples per operation (25 by default, fewer under
# `make check`'s dev profile); SHOPCORE_SCHEMATHESIS_EXAMPLES asks for a deeper local run.
EXAMPLES = int(
    os.environ.get("SHOPCORE_SCHEMATHESIS_EXAMPLES", max(5, settings().max_examples // 4))
)


class _World:
    """The app under test with one customer, one staff member and a product in stock;
    `reset` empties its database and seeds it again."""

    def __init__(self, directory: Path, **changes: Any) -> None:
        asyncio.run(self._create(directory))
        self.settings = test_settings(f"sqlite+aiosqlite:///{directory / 'shop.db'}", **changes)
        self.app: Litestar
        self.app, self.gateway, side = api_app(self.settings)
        asyncio.run(side.aclose())
        self.reset()

    def reset(self) -> None:
        asyncio.run(self._reset())
        tokens = self.app.state["tokens"]
        self.customer_headers = {"Authorization": f"Bearer {tokens.issue(*self.customer)}"}
        self.staff_headers = {"Authorization": f"Bearer {tokens.issue(*self.staff)}"}

    async def _reset(self) -> None:
        side = Components(self.settings, gateway=self.gateway, hasher=FastInsecureHasher())
        await delete_every_row(side.engine)
        await self._seed(side)

    async def _create(self, directory: Path) -> None:
        engine = await fresh_sqlite(directory)
        await engine.dispose()

    async def _seed(self, side: Any) -> None:
        shop = side.shop
        try:
            customer = await shop.handle(
                RegisterCustomer(email="fuzz@example.com", password=PASSWORD)
            )
            staff = await shop.handle(EnsureStaff(email="staff@example.com", password=PASSWORD))
            await shop.handle(
                CreateProduct(
                    name="Fuzz shirt",
                    slug="fuzz-shirt",
                    category="shirts",
                    description="Generated requests target it",
                    variants=(Variant(sku="FUZZ-1", price=Money(1500, "EUR")),),
                )
            )
            await shop.handle(ReceiveStock(sku="FUZZ-1", quantity=1000))
            self.customer = (customer.id, customer.role)
            self.staff = (staff.id, staff.role)
        finally:
            await side.aclose()


class _AppUnderTest:
    """The ASGI app the cases are sent to: the `world` fixture's, once it is built."""

    def __init__(self) -> None:
        self.app: Litestar | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the `world` fixture builds the app under test")
        await self.app(scope, receive, send)


APP = _AppUnderTest()
# A body over the size cap is refused before it is read: 413 is a rejection of invalid data
# too (the document lists it for every operation with a body).
CONFIG = SchemathesisConfig.from_str(
    """
[checks.negative_data_rejection]
expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
]
"""
)
schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG)
schema.app = APP


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_World]:
    built = _World(tmp_path_factory.mktemp("schemathesis"))
    APP.app = built.app
    yield built


@pytest.mark.sqlite
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.parametrize("caller", ["customer", "staff", "anonymous"])
def test_the_api_honours_its_openapi_document(case: Case, world: _World, caller: str) -> None:
    """Each operation as a customer, as a staff member and as a caller without a token: the
    document must hold whoever asks (401 and 403 included)."""
    headers = {
        "customer": world.customer_headers,
        "staff": world.staff_headers,
        "anonymous": {},
    }[caller]
    case.call_and_validate(
        headers=_sent(case, headers),
        # Every method a path does not take is a 405, and `Allow` lists the path's methods
        # (both checked since OPTIONS answers every method of a path).
        excluded_checks=[*_beyond_the_schema(case), *_unknown_query(case)],
    )


def _sent(case: Case, caller: dict[str, str]) -> dict[str, Any]:
    """The case's headers with the caller's token. A key is single-use: the same one with
    another body is refused (422), which no schema can state, so every case gets a fresh key
    of the documented form."""
    sent = {**(case.headers or {}), **caller}
    if "Idempotency-Key" in sent:
        sent["Idempotency-Key"] = str(uuid.uuid4())
    return sent


def _beyond_the_schema(case: Case) -> list[Any]:
    """A schema-valid request that breaks a rule no schema can state gets a 4xx problem, which
    is the right answer: only for those is `positive_data_acceptance` left out, each for its
    reason."""
    body = case.body if isinstance(case.body, dict) else {}
    query = case.query or {}
    beyond = (
        # A cursor is opaque: only one a page handed out is valid.
        "cursor" in query
        # A price range must not be upside down.
        or _upside_down(query.get("min_price"), query.get("max_price"))
        # A webhook must carry the gateway's HMAC of its body.
        or case.path == "/v1/payments/webhooks"
        # Money is in the shop's currency, a setting the committed document cannot name.
        or any(currency != "EUR" for currency in _currencies(body))
        # A new password must pass the policy: not common, 4 different characters, not the
        # email's local part (customers/password_policy.py).
        or case.path == "/v1/customers"
    )
    return [positive_data_acceptance] if beyond else []


def _unknown_query(case: Case) -> list[Any]:
    """Query parameters the operation does not name are ignored, as most HTTP APIs do (bodies
    with unknown fields are refused: tests/e2e/*_api.py); OpenAPI cannot say a query is open,
    so a request whose only fault is one of those is left out of `negative_data_rejection`."""
    named = {parameter.name for parameter in case.operation.query}
    return [negative_data_rejection] if set(case.query or {}) - named else []


def _upside_down(low: object, high: object) -> bool:
    try:
        return low is not None and high is not None and int(str(low)) > int(str(high))
    except ValueError:
        return False  # not numbers: the check for bad data is the one that applies


def _currencies(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [str(value["currency"])] if "currency" in value else []
        return found + [c for item in value.values() for c in _currencies(item)]
    if isinstance(value, list):
        return [c for item in value for c in _currencies(item)]
    return []


# -- the stateful phase: operations chained through what they create ------------------------
# Schemathesis links each operation to those that take what it answers (a cart's id to its
# items and to checkout, an order's id to its cancellation, shipment and refunds), inferred
# from the document's schemas and path parameters. Each scenario starts from the same shop
# (its own database, emptied and seeded again, no catalog cache): a scenario Hypothesis
# replays must meet the answers it met the first time.
Workflow: Any = schema.as_state_machine()


class ShopWorkflow(Workflow):  # type: ignore[misc,valid-type]
    world: _World

    def setup(self) -> None:
        type(self).world.reset()

    def get_call_kwargs(self, case: Case) -> dict[str, Any]:
        world = type(self).world
        headers = world.staff_headers if "/admin/" in case.path else world.customer_headers
        return {"headers": _sent(case, headers)}

    def validate_response(
        self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=[*_beyond_the_schema(case), *_unknown_query(case), *_stateful(case)],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def _stateful(case: Case) -> list[Any]:
    """What only a chain of calls reaches, beyond the schema as well: a cart takes only SKUs
    the catalog sells (422), and a checkout needs lines in the cart and a card that pays
    (422, 402); a refund may not exceed what is left to refund (422)."""
    beyond = (
        (case.method in ("POST", "PATCH") and case.path.startswith("/v1/carts/{cart_id}/items"))
        or case.path == "/v1/checkout"
        or case.path == "/v1/admin/orders/{order_id}/refunds"
    )
    return [positive_data_acceptance] if beyond else []


@pytest.mark.sqlite
def test_chained_operations_honour_the_document(
    world: _World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ShopWorkflow.world = _World(tmp_path_factory.mktemp("workflow"), catalog_cache_seconds=0)
    APP.app = ShopWorkflow.world.app
    try:
        ShopWorkflow.run(
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=8,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
        )
    finally:
        APP.app = world.app
