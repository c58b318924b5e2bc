"""The services the documentation describes, and what belongs to each.

Endpoints belong to a service by path prefix (then by OpenAPI tag), tables by name. The
lists here are the one hand-kept part of the generator; tests/integration/test_docs.py fails
when an endpoint under /v1 or a table belongs to no service, so a new one cannot slip past.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shopcore.inventory.model import RESERVATION_TRANSITIONS
from shopcore.ordering.model import TRANSITIONS
from shopcore.payments.model import PAYMENT_TRANSITIONS


@dataclass(frozen=True, kw_only=True)
class Machine:
    """A state machine drawn from a transition table in the core."""

    name: str  # block name part and heading
    title: str
    source: str  # where the table lives, as `module.NAME`
    table: Mapping[Any, frozenset[Any]]


ORDER_STATES = Machine(
    name="order-states",
    title="Order",
    source="shopcore.ordering.model.TRANSITIONS",
    table=TRANSITIONS,
)
RESERVATION_STATES = Machine(
    name="reservation-states",
    title="Stock reservation",
    source="shopcore.inventory.model.RESERVATION_TRANSITIONS",
    table=RESERVATION_TRANSITIONS,
)
PAYMENT_STATES = Machine(
    name="payment-states",
    title="Payment",
    source="shopcore.payments.model.PAYMENT_TRANSITIONS",
    table=PAYMENT_TRANSITIONS,
)
MACHINES = (ORDER_STATES, RESERVATION_STATES, PAYMENT_STATES)


@dataclass(frozen=True, kw_only=True)
class Service:
    key: str  # prefix of the page's block names
    name: str
    page: str  # path of the page under docs/
    prefixes: tuple[str, ...] = ()  # URL path prefixes of its endpoints
    tags: tuple[str, ...] = ()  # OpenAPI tags of its endpoints, after the prefixes
    tables: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()  # shopcore packages whose commands and events it owns
    machines: tuple[Machine, ...] = ()


SERVICES: tuple[Service, ...] = (
    Service(
        key="catalog",
        name="Catalog",
        page="services/catalog.md",
        prefixes=("/v1/products", "/v1/admin/products"),
        tags=("catalog",),
        tables=("products", "product_variants"),
        contexts=("catalog",),
    ),
    Service(
        key="inventory",
        name="Inventory",
        page="services/inventory.md",
        prefixes=("/v1/inventory", "/v1/admin/inventory"),
        tags=("inventory",),
        tables=("stock_levels", "reservations", "reservation_lines", "stock_movements"),
        contexts=("inventory",),
        machines=(RESERVATION_STATES,),
    ),
    Service(
        key="cart",
        name="Cart and checkout",
        page="services/cart-checkout.md",
        prefixes=("/v1/carts", "/v1/checkout"),
        tags=("carts", "checkout"),
        tables=("carts",),
        contexts=("cart",),
    ),
    Service(
        key="ordering",
        name="Ordering",
        page="services/ordering.md",
        prefixes=("/v1/orders", "/v1/admin/orders"),
        tags=("orders",),
        tables=("orders",),
        contexts=("ordering",),
        machines=(ORDER_STATES,),
    ),
    Service(
        key="payments",
        name="Payments",
        page="services/payments.md",
        prefixes=("/v1/payments",),
        tags=("payments",),
        tables=("payments",),
        contexts=("payments",),
        machines=(PAYMENT_STATES,),
    ),
    Service(
        key="customers",
        name="Customers",
        page="services/customers.md",
        prefixes=("/v1/customers", "/v1/auth"),
        tags=("customers", "auth"),
        tables=("customers", "refresh_sessions"),
        contexts=("customers",),
    ),
    Service(
        key="worker",
        name="Worker",
        page="services/worker.md",
        tables=("outbox", "outbox_feed", "processed_events", "dead_letters"),
    ),
)

# Tables that every API process uses on behalf of several services.
SHARED_TABLES: dict[str, str] = {
    "idempotency_keys": "`Idempotency-Key` records of the HTTP adapter, for every service "
    "whose endpoints move money or stock (checkout, stock changes, refunds, cancellations, "
    "webhooks).",
}

# Tables of systems outside the shop that keep their state in its database.
OUTSIDE_TABLES: dict[str, str] = {
    name: "the simulated payment gateway (`src/adapters/db/simulated_gateway.py`): the test "
    f"bank's {what}, kept here so that every API process and every restart sees one bank. "
    "Not the shop's record of its payments (`payments`); a real gateway keeps its own."
    for name, what in (
        ("simulated_gateway_charges", "charges"),
        ("simulated_gateway_answers", "first answer to each idempotency key"),
    )
}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def service_of_path(path: str, tags: tuple[str, ...] = ()) -> Service | None:
    """The service an endpoint belongs to: the longest matching path prefix, else a tag."""
    matches = [
        (len(prefix), service)
        for service in SERVICES
        for prefix in service.prefixes
        if _under(path, prefix)
    ]
    if matches:
        return max(matches, key=lambda match: match[0])[1]
    for service in SERVICES:
        if set(tags) & set(service.tags):
            return service
    return None


def service_of_table(name: str) -> Service | None:
    for service in SERVICES:
        if name in service.tables:
            return service
    return None
