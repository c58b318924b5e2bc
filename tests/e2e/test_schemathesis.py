"""Property-based API tests generated from the committed OpenAPI document: for every
operation, as a customer, as staff and without a token, generated requests (valid and invalid)
never get a 5xx, every response conforms to the document (status codes, content types, bodies,
`Allow`), every schema-valid request is accepted and every schema-violating one refused, save
the cases no schema can state (each left out with its reason); and chained through what they
create along the document's links (the stateful phase), which must reach a placed order.

The operations are read from the committed document, `openapi/openapi.json`, which
tests/integration/test_openapi_document.py keeps equal to the app's own. Schemathesis binds the
operations to an ASGI app at collection; they are bound to `APP`, which forwards to the app the
`world` fixture builds once per test session, so collecting the suite builds no app and opens
no database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from litestar import Litestar
from litestar.types import Receive, Scope, Send
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from adapters.memory.hasher import FastInsecureHasher
from adapters.payments.simulated_bank import APPROVE
from apps.components import Components
from shopcore import (
    AddCartItem,
    CartAccess,
    CreateCart,
    CreateProduct,
    EnsureStaff,
    Money,
    ReceiveStock,
    RegisterCustomer,
    Variant,
)
from tests.support.api import PASSWORD, api_app, test_settings
from tests.support.databases import delete_every_row, fresh_sqlite

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
# A quarter of the hypothesis profile's examples per operation (25 by default, fewer under
# `make check`'s dev profile); SHOPCORE_SCHEMATHESIS_EXAMPLES asks for a deeper local run.
EXAMPLES = int(
    os.environ.get("SHOPCORE_SCHEMATHESIS_EXAMPLES", max(5, settings().max_examples // 4))
)
# Scenarios of the stateful phase (12 steps each), at least 20 whatever the profile: in 20,
# the customer's chains placed 9 orders, staff's 5 (and shipped 3), the anonymous caller's
# reached its cart twice; `REACHED` asks each caller's run to get there at least once.
STATEFUL_EXAMPLES = max(20, EXAMPLES)


class _World:
    """The app under test with one customer, one staff member and a product in stock, and
    an open cart for each of them holding one unit of it; `reset` puts its database back as
    the seed left it (SQLite's online backup of a copy taken once: a few milliseconds, where
    emptying and seeding again took 50-150, most of a stateful scenario's time)."""

    def __init__(self, directory: Path, **changes: Any) -> None:
        asyncio.run(self._create(directory))
        self.database = directory / "shop.db"
        self.seeded = directory / "seeded.db"
        self.settings = test_settings(f"sqlite+aiosqlite:///{self.database}", **changes)
        self.app: Litestar
        self.app, self.gateway, side = api_app(self.settings)
        asyncio.run(side.aclose())
        asyncio.run(self._reset())
        _copy(self.database, self.seeded)
        self.reset()

    def reset(self) -> None:
        _copy(self.seeded, self.database)
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
            for account in (customer, staff):
                # A link carries values from one answer, and no answer holds both a cart's id
                # and a SKU the catalog sells before a cart has a line: this one lets a chain
                # `POST /v1/carts` (200, this cart) -> checkout reach a placed order.
                opened = await shop.handle(CreateCart(customer_id=account.id))
                await shop.handle(
                    AddCartItem(
                        cart_id=opened.cart.id,
                        access=CartAccess(customer_id=account.id, token=None),
                        sku="FUZZ-1",
                        quantity=1,
                    )
                )
            self.customer = (customer.id, customer.role)
            self.staff = (staff.id, staff.role)
        finally:
            await side.aclose()


def _copy(source: Path, target: Path) -> None:
    """Every page of `source` into `target` through SQLite, so the app's open connections see
    the copy (no request is under way between scenarios)."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


class _AppUnderTest:
    """The ASGI app the cases are sent to: the `world` fixture's, once it is built."""

    def __init__(self) -> None:
        self.app: Litestar | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the `world` fixture builds the app under test")
        await self.app(scope, receive, send)


APP = _AppUnderTest()
# The stateful phase follows the document's own links only (openapi_links.py), none inferred:
# a chain it cannot walk is a link the document lacks. A body over the size cap is refused
# before it is read: 413 is a rejection of invalid data too (the document lists it for every
# operation with a body).
CONFIG = SchemathesisConfig.from_str(
    """
[phases.stateful.inference]
algorithms = []

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
    of the documented form. Headers made invalid on purpose go as generated: the caller's
    token or a fresh key would mend them, and a valid request would then be "accepted"."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return dict(case.headers or {})
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


def test_every_link_reads_what_its_operations_document() -> None:
    """The document is public: a link's expressions must name fields its source documents
    (the response's schema, the request's body or parameters), and it must fill parameters
    its target takes. Schemathesis checks only the target's parameters."""
    document = json.loads(DOCUMENT.read_text())
    wrong = [
        f"{method.upper()} {path} {status} {name}: {fault}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for status, response in operation.get("responses", {}).items()
        for name, link in response.get("links", {}).items()
        for fault in _link_faults(document, operation, response, link)
    ]
    assert not wrong, "\n".join(wrong)
    assert len(_links(document)) >= 50  # the links are there at all


def _links(document: dict[str, Any]) -> list[Any]:
    return [
        link
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for link in response.get("links", {}).values()
    ]


def _link_faults(
    document: dict[str, Any], source: dict[str, Any], response: dict[str, Any], link: Any
) -> list[str]:
    target = next(
        (
            operation
            for item in document["paths"].values()
            for operation in item.values()
            if isinstance(operation, dict) and operation.get("operationId") == link["operationId"]
        ),
        None,
    )
    if target is None:
        return [f"no operation {link['operationId']}"]
    taken = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
    faults = [f"{target['operationId']} takes no {key}" for key in link.get("parameters", {})]
    faults = [fault for fault in faults if fault.rsplit(" ", 1)[1] not in taken]
    body = link.get("requestBody")
    if body is not None:
        schema = target["requestBody"]["content"]["application/json"]["schema"]
        faults += [
            f"{target['operationId']}'s body has no {field}"
            for field in body
            if _field(document, schema, [field]) is None
        ]
    response_schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    source_body = source.get("requestBody", {}).get("content", {}).get("application/json", {})
    names = {f"{p['in']}.{p['name']}" for p in source.get("parameters", [])}
    for expression in [*link.get("parameters", {}).values(), *(body or {}).values()]:
        kind, _, pointer = expression.partition("#/")
        if kind == "$response.body":
            found = _field(document, response_schema, pointer.split("/"))
        elif kind == "$request.body":
            found = _field(document, source_body.get("schema", {}), pointer.split("/"))
        else:
            found = expression.removeprefix("$request.") in names or None
        if found is None:
            faults.append(f"{expression} names nothing the source documents")
    return faults


def _field(document: dict[str, Any], schema: dict[str, Any], pointer: list[str]) -> Any:
    """The schema a JSON pointer reaches, through `$ref`, `allOf`, `oneOf` and arrays."""
    while "$ref" in schema or "allOf" in schema:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        else:
            schema = schema["allOf"][0]
    if not pointer:
        return schema
    step, rest = pointer[0], pointer[1:]
    if step.isdigit():
        return _field(document, schema["items"], rest) if "items" in schema else None
    for option in [schema, *schema.get("oneOf", [])]:
        if step in option.get("properties", {}):
            return _field(document, option["properties"][step], rest)
    return None


# -- the stateful phase: operations chained through what they create ------------------------
# Schemathesis follows the links the document states (openapi_links.py): a cart's id and token
# to its items and to checkout, an order's id to its cancellation, shipment and refunds, and so
# on; one caller (customer, staff or anonymous) makes every call of a run. Each scenario starts
# from the same shop (its own database, put back as seeded, no catalog cache): a scenario
# Hypothesis replays must meet the answers it met the first time.
Workflow: Any = schema.as_state_machine()


class ShopWorkflow(Workflow):  # type: ignore[misc,valid-type]
    world: _World
    caller: str
    # (method, path, status) of every answer over the run: what the chains reached.
    answers: Counter[tuple[str, str, int]]

    def setup(self) -> None:
        type(self).world.reset()

    @initialize(target=Bundle("answers"))
    def open_a_cart(self) -> StepOutput:
        """Every scenario starts with the caller opening its cart: `POST /v1/carts` takes no
        input, so this first step is the one any scenario could take, made sure. Its answer
        goes where Schemathesis files every answer (by operation and status), and the links
        of that answer take the chain on."""
        step = StepInput.initial(schema["/v1/carts"]["POST"].Case())
        self.recorder.record_case(case=step.case)
        self.control.record_step(step, self.recorder)
        return self.step(step)

    def before_call(self, case: Case) -> None:
        _pay_with_an_approved_card(case)

    def get_call_kwargs(self, case: Case) -> dict[str, Any]:
        world = type(self).world
        headers = {
            "customer": world.customer_headers,
            "staff": world.staff_headers,
            "anonymous": {},
        }[type(self).caller]
        return {"headers": _sent(case, headers)}

    def after_call(self, response: Any, case: Case) -> None:
        type(self).answers[(case.method, case.path, response.status_code)] += 1

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


def _pay_with_an_approved_card(case: Case) -> None:
    """A card token comes from the payment gateway, never from this API, so no link can hand
    one over: the shopper brings the simulated gateway's approved card, as it brings its
    access token. Only to a request meant to be valid: an invalid one keeps its fault."""
    body = case.body
    if (
        case.path == "/v1/checkout"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(body, dict)
        and isinstance(body.get("payment_token"), str)
    ):
        body["payment_token"] = APPROVE


def _stateful(case: Case) -> list[Any]:
    """What only a chain of calls reaches, beyond the schema as well: a cart takes only SKUs
    the catalog sells, up to a cap (422), and a checkout needs lines in the cart and the stock
    for them (422, 409); a refund may not exceed what is left to refund (422)."""
    beyond = (
        (case.method in ("POST", "PATCH") and case.path.startswith("/v1/carts/{cart_id}/items"))
        or case.path == "/v1/checkout"
        or case.path == "/v1/admin/orders/{order_id}/refunds"
    )
    return [positive_data_acceptance] if beyond else []


# What each caller's chains must reach at least once over the run, or the links (or the seed)
# no longer lead anywhere: an order placed (customer, staff), an anonymous cart reached with
# the token its creation handed out (anonymous).
REACHED = {
    "customer": ("POST", "/v1/checkout", 201),
    "staff": ("POST", "/v1/checkout", 201),
    "anonymous": ("GET", "/v1/carts/{cart_id}", 200),
}


@pytest.mark.sqlite
@pytest.mark.parametrize("caller", ["customer", "staff", "anonymous"])
def test_chained_operations_honour_the_document(
    world: _World, tmp_path_factory: pytest.TempPathFactory, caller: str
) -> None:
    """The chains hold the document whoever walks them, and get somewhere: see `REACHED`."""
    ShopWorkflow.world = _World(tmp_path_factory.mktemp("workflow"), catalog_cache_seconds=0)
    ShopWorkflow.caller = caller
    ShopWorkflow.answers = Counter()
    APP.app = ShopWorkflow.world.app
    try:
        ShopWorkflow.run(
            settings=settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
        )
    finally:
        APP.app = world.app
    reached = ShopWorkflow.answers
    assert reached[REACHED[caller]], (
        f"no chain reached {REACHED[caller]} as {caller}; answers: {sorted(reached.items())}"
    )
