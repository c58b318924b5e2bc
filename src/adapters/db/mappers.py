"""Explicit row <-> aggregate mapping: named columns for what SQL filters on, one `body`
document for the nested value objects. msgspec does the (de)serialisation both ways."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Table

from adapters.db import tables
from shopcore.cart.model import Cart
from shopcore.catalog.model import Product, Variant
from shopcore.customers.model import Customer
from shopcore.customers.sessions import RefreshSession
from shopcore.ordering.model import Order
from shopcore.payments.model import Payment
from shopcore.shared.aggregate import Aggregate

A = TypeVar("A", bound=Aggregate)
Extra = Callable[[Any], dict[str, Any]]


def _builtins(value: object) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(value, builtin_types=(datetime,))
    data.pop("events", None)
    return data


class AggregateMapper(Generic[A]):
    """Maps one aggregate class to one table. `columns` are copied to columns of the same
    name; every other field goes to `body`; `extra` adds derived columns (totals for sorting)."""

    def __init__(
        self,
        kind: type[A],
        table: Table,
        columns: Sequence[str],
        *,
        extra: Extra | None = None,
        body: bool = True,
    ) -> None:
        self.kind = kind
        self.table = table
        self._columns = tuple(columns)
        self._extra = extra
        self._body = body

    def to_row(self, aggregate: A) -> dict[str, Any]:
        data = _builtins(aggregate)
        row = {name: data.pop(name) for name in self._columns}
        if self._body:
            row["body"] = data
        if self._extra is not None:
            row.update(self._extra(aggregate))
        return row

    def from_row(self, row: Mapping[str, Any], **more: Any) -> A:
        data = {name: row[name] for name in self._columns}
        if self._body:
            data.update(row["body"])
        data.update(more)
        return msgspec.convert(data, self.kind)


PRODUCT = AggregateMapper(
    Product,
    tables.products,
    (
        "id",
        "version",
        "slug",
        "name",
        "description",
        "category",
        "status",
        "created_at",
        "updated_at",
    ),
    body=False,
    extra=lambda product: {"search_text": search_text(product.name, product.description)},
)


def search_text(*parts: str) -> str:
    return " ".join(parts).casefold()


def variant_rows(product: Product) -> list[dict[str, Any]]:
    return [
        {
            "sku": variant.sku,
            "product_id": product.id,
            "position": position,
            "price_amount": variant.price.amount,
            "currency": variant.price.currency,
            "attributes": dict(variant.attributes),
        }
        for position, variant in enumerate(product.variants)
    ]


def variants_from(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    ordered = sorted(rows, key=lambda row: row["position"])
    return [
        {
            "sku": row["sku"],
            "price": {"amount": row["price_amount"], "currency": row["currency"]},
            "attributes": row["attributes"],
        }
        for row in ordered
    ]


def product_from(row: Mapping[str, Any], variants: Sequence[Mapping[str, Any]]) -> Product:
    return PRODUCT.from_row(row, variants=variants_from(variants))


CUSTOMER = AggregateMapper(
    Customer,
    tables.customers,
    ("id", "version", "email", "password_hash", "role", "name", "created_at"),
)

REFRESH_SESSION = AggregateMapper(
    RefreshSession,
    tables.refresh_sessions,
    (
        "id",
        "version",
        "customer_id",
        "family_id",
        "token_hash",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
    ),
    body=False,
)

CART = AggregateMapper(
    Cart,
    tables.carts,
    (
        "id",
        "version",
        "customer_id",
        "token_hash",
        "currency",
        "status",
        "order_id",
        "created_at",
        "updated_at",
        "checkout_started_at",
    ),
)

ORDER = AggregateMapper(
    Order,
    tables.orders,
    (
        "id",
        "version",
        "customer_id",
        "cart_id",
        "status",
        "payment_id",
        "created_at",
        "updated_at",
        "settle_by",
    ),
    extra=lambda order: {
        "total_amount": order.totals.total.amount,
        "currency": order.totals.total.currency,
    },
)

PAYMENT = AggregateMapper(
    Payment,
    tables.payments,
    ("id", "version", "order_id", "status", "created_at"),
    extra=lambda payment: {"amount": payment.amount.amount, "currency": payment.amount.currency},
)

__all__ = [
    "CART",
    "CUSTOMER",
    "ORDER",
    "PAYMENT",
    "PRODUCT",
    "REFRESH_SESSION",
    "AggregateMapper",
    "Variant",
    "product_from",
    "variant_rows",
]
