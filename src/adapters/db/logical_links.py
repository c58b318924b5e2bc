"""The links between tables that the schema keeps by id, without a foreign key.

No foreign key crosses a context (tables.py), so an order names its customer, its cart and its
payment by id only, a reservation is named after its order, and stock rows name the SKU a
variant sells. Those links are as real as the foreign keys: queries follow them and the code
keeps them. Listed here, in one place, so the data-model pages can draw them beside the
foreign keys (`apps/docs/datamodel.py`) and a test can check that every column named here
exists (tests/unit/test_logical_links.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class LogicalLink:
    """`table.columns` hold the value of `target.target_columns` of one row there.

    `inside`: where the value sits when the column is a JSON document (`lines[].sku` of an
    order's `body`); `one`: whether a target row has at most one such row (a reservation per
    order) rather than any number; `why`: what keeps the link, in a few words."""

    table: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    why: str
    inside: str = ""
    one: bool = False

    @property
    def label(self) -> str:
        names = ", ".join(self.columns)
        return f"{names}: {self.inside}" if self.inside else names


LOGICAL_LINKS: tuple[LogicalLink, ...] = (
    LogicalLink(
        table="refresh_sessions",
        columns=("customer_id",),
        target="customers",
        target_columns=("id",),
        why="the login's customer",
    ),
    LogicalLink(
        table="carts",
        columns=("customer_id",),
        target="customers",
        target_columns=("id",),
        why="the owner; null for an anonymous cart, reached by its token",
    ),
    LogicalLink(
        table="carts",
        columns=("order_id",),
        target="orders",
        target_columns=("id",),
        one=True,
        why="the order whose checkout holds the cart, or checked it out",
    ),
    LogicalLink(
        table="carts",
        columns=("body",),
        inside="lines[].sku",
        target="product_variants",
        target_columns=("sku",),
        why="what the cart holds, priced when added",
    ),
    LogicalLink(
        table="orders",
        columns=("customer_id",),
        target="customers",
        target_columns=("id",),
        why="who ordered",
    ),
    LogicalLink(
        table="orders",
        columns=("cart_id",),
        target="carts",
        target_columns=("id",),
        why="the cart checked out; a cart may see several checkouts fail before one succeeds",
    ),
    LogicalLink(
        table="orders",
        columns=("body",),
        inside="lines[].sku",
        target="product_variants",
        target_columns=("sku",),
        why="what was sold, with its price at checkout kept in the line",
    ),
    LogicalLink(
        table="payments",
        columns=("order_id",),
        target="orders",
        target_columns=("id",),
        one=True,
        why="one payment per order (its id is the order's too)",
    ),
    LogicalLink(
        table="orders",
        columns=("payment_id",),
        target="payments",
        target_columns=("id",),
        one=True,
        why="set once the payment is authorized or refused",
    ),
    LogicalLink(
        table="reservations",
        columns=("id",),
        target="orders",
        target_columns=("id",),
        one=True,
        why="one reservation per order, named after it",
    ),
    LogicalLink(
        table="stock_levels",
        columns=("sku",),
        target="product_variants",
        target_columns=("sku",),
        why="the SKU a variant sells, stocked per location",
    ),
    LogicalLink(
        table="reservation_lines",
        columns=("sku", "location"),
        target="stock_levels",
        target_columns=("sku", "location"),
        why="the stock row a line reserved from",
    ),
    LogicalLink(
        table="stock_movements",
        columns=("sku", "location"),
        target="stock_levels",
        target_columns=("sku", "location"),
        why="the ledger of one stock row's changes",
    ),
    LogicalLink(
        table="processed_events",
        columns=("event_id",),
        target="outbox",
        target_columns=("event_id",),
        why="an event a handler has handled (the outbox row may be pruned since)",
    ),
    LogicalLink(
        table="dead_letters",
        columns=("event_id",),
        target="outbox",
        target_columns=("event_id",),
        why="an event no handler could handle",
    ),
    LogicalLink(
        table="idempotency_keys",
        columns=("resource",),
        target="orders",
        target_columns=("id",),
        one=True,
        why="the order a checkout's key places, named before it exists",
    ),
)
