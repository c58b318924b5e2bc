"""Every kind of aggregate a unit of work stores, for the suites that run one test per kind:
a fresh aggregate of the kind, and the repository of a unit that keeps it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopcore.bootstrap import ShopUnitOfWork
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.ids import new_id
from tests.contracts import builders as b

# (kind, a fresh aggregate, the repository that stores it)
KINDS: list[tuple[str, Callable[[], Aggregate], Callable[[ShopUnitOfWork], Any]]] = [
    ("product", b.product, lambda uow: uow.products),
    ("customer", b.customer, lambda uow: uow.customers),
    ("cart", lambda: b.cart(customer_id=new_id(), lines={"TEE-M": 1}), lambda uow: uow.carts),
    ("order", b.order, lambda uow: uow.orders),
    ("payment", b.payment, lambda uow: uow.payments),
]
KIND_IDS = [kind for kind, _, _ in KINDS]
