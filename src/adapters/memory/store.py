"""Everything an in-memory shop holds; units of work are short sessions over one store."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.memory.stock import StockState
from adapters.memory.table import Table
from shopcore.cart.model import Cart
from shopcore.catalog.model import Product
from shopcore.customers.model import Customer
from shopcore.customers.sessions import RefreshSession
from shopcore.ordering.model import Order
from shopcore.payments.model import Payment
from shopcore.shared.messages import Event


def _products() -> Table[Product]:
    return Table("product", unique={"slug": lambda p: [p.slug], "sku": lambda p: p.skus})


def _customers() -> Table[Customer]:
    return Table("customer", unique={"email": lambda c: [c.email]})


def _sessions() -> Table[RefreshSession]:
    return Table("refresh session", unique={"token_hash": lambda s: [s.token_hash]})


@dataclass
class MemoryStore:
    products: Table[Product] = field(default_factory=_products)
    customers: Table[Customer] = field(default_factory=_customers)
    sessions: Table[RefreshSession] = field(default_factory=_sessions)
    carts: Table[Cart] = field(default_factory=lambda: Table("cart"))
    orders: Table[Order] = field(default_factory=lambda: Table("order"))
    payments: Table[Payment] = field(default_factory=lambda: Table("payment"))
    stock: StockState = field(default_factory=StockState)
    # Every committed event, in commit order: what the outbox will hold in SQL.
    outbox: list[Event] = field(default_factory=list)
    # (handler, event_id) pairs handled: what the processed_events table holds in SQL.
    processed: set[tuple[str, str]] = field(default_factory=set)
