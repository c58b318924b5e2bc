"""In-memory repositories for the aggregate-shaped ports, over `Table`s in a `MemoryStore`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

from adapters.memory.session import Session
from adapters.memory.table import Table
from shopcore.cart.model import Cart, CartStatus
from shopcore.catalog.model import Product
from shopcore.catalog.views import SkuPrice
from shopcore.customers.model import Customer
from shopcore.customers.sessions import RefreshSession
from shopcore.ordering.model import Order, OrderStatus
from shopcore.payments.model import Payment
from shopcore.shared.aggregate import Aggregate

A = TypeVar("A", bound=Aggregate)


class _Repository(Generic[A]):
    def __init__(self, table: Table[A], session: Session) -> None:
        self._table = table
        self._session = session

    async def get(self, key: str) -> A | None:
        return self._session.load(self._table, key)

    async def _add(self, key: str, aggregate: A) -> None:
        self._table.check(key, aggregate, new=True)  # clash now, not only at commit
        self._session.stage(self._table, key, aggregate)


class MemoryProductRepository(_Repository[Product]):
    async def add(self, product: Product) -> None:
        await self._add(product.id, product)

    async def get_by_slug(self, slug: str) -> Product | None:
        key = self._table.owner("slug", slug)
        return None if key is None else await self.get(key)

    async def taken_skus(self, skus: Sequence[str], *, excluding: str | None = None) -> list[str]:
        taken = []
        for sku in skus:
            owner = self._table.owner("sku", sku)
            if owner is not None and owner != excluding:
                taken.append(sku)
        return sorted(taken)

    async def by_skus(self, skus: Sequence[str]) -> list[Product]:
        keys = {self._table.owner("sku", sku) for sku in skus} - {None}
        found = [await self.get(key) for key in sorted(k for k in keys if k is not None)]
        return [product for product in found if product is not None]

    async def prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        found: dict[str, SkuPrice] = {}
        for sku in set(skus):
            key = self._table.owner("sku", sku)
            product = None if key is None else self._table.peek(key)  # as stored: no copy
            if product is None:
                continue
            for variant in product.variants:
                if variant.sku == sku:
                    found[sku] = SkuPrice(
                        sku=sku,
                        product_id=product.id,
                        name=product.name,
                        price=variant.price,
                        sellable=product.is_sellable,
                    )
        return found


class MemoryCartRepository(_Repository[Cart]):
    async def add(self, cart: Cart) -> None:
        await self._add(cart.id, cart)

    async def open_cart_of(self, customer_id: str) -> Cart | None:
        found = [
            cart
            for cart in self._table
            if cart.customer_id == customer_id and cart.status is CartStatus.OPEN
        ]
        if not found:
            return None
        newest = max(found, key=lambda cart: (cart.updated_at, cart.id))
        return await self.get(newest.id)


class MemoryOrderRepository(_Repository[Order]):
    async def add(self, order: Order) -> None:
        await self._add(order.id, order)

    def adopt(self, order: Order) -> None:
        self._session.adopt(self._table, order.id, order)

    async def page(
        self,
        *,
        customer_id: str | None,
        status: OrderStatus | None,
        before: str | None,
        limit: int,
    ) -> list[Order]:
        keys = sorted(
            (
                order.id
                for order in self._table
                if (customer_id is None or order.customer_id == customer_id)
                and (status is None or order.status is status)
                and (before is None or order.id < before)
            ),
            reverse=True,
        )[:limit]
        found = [await self.get(key) for key in keys]
        return [order for order in found if order is not None]

    async def unsettled(self, *, due_before: datetime, limit: int) -> list[Order]:
        due = sorted(
            (order.settle_by, order.id)
            for order in self._table
            if order.settle_by is not None and order.settle_by < due_before
        )[:limit]
        found = [await self.get(order_id) for _, order_id in due]
        return [order for order in found if order is not None]


class MemoryPaymentRepository(_Repository[Payment]):
    async def add(self, payment: Payment) -> None:
        await self._add(payment.id, payment)

    async def for_order(self, order_id: str) -> list[Payment]:
        keys = sorted(payment.id for payment in self._table if payment.order_id == order_id)
        found = [await self.get(key) for key in keys]
        return [payment for payment in found if payment is not None]


class MemoryCustomerRepository(_Repository[Customer]):
    async def add(self, customer: Customer) -> None:
        await self._add(customer.id, customer)

    async def get_by_email(self, email: str) -> Customer | None:
        key = self._table.owner("email", email.strip().lower())
        return None if key is None else await self.get(key)


class MemoryRefreshSessionRepository(_Repository[RefreshSession]):
    async def add(self, session: RefreshSession) -> None:
        await self._add(session.id, session)

    async def get_by_token_hash(self, token_hash: str) -> RefreshSession | None:
        key = self._table.owner("token_hash", token_hash)
        return None if key is None else await self.get(key)

    async def family(self, family_id: str) -> list[RefreshSession]:
        return await self._family(family_id, live=False)

    async def live(self, family_id: str) -> list[RefreshSession]:
        return await self._family(family_id, live=True)

    async def live_of_customer(self, customer_id: str) -> list[RefreshSession]:
        keys = [
            session.id
            for session in sorted(self._table, key=lambda s: (s.created_at, s.id))
            if session.customer_id == customer_id
            and session.used_at is None
            and session.revoked_at is None
        ]
        found = [await self.get(key) for key in keys]
        return [session for session in found if session is not None]

    async def _family(self, family_id: str, *, live: bool) -> list[RefreshSession]:
        rows = sorted(
            (
                session
                for session in self._table
                if session.family_id == family_id
                and not (live and (session.used_at is not None or session.revoked_at is not None))
            ),
            key=lambda session: (session.created_at, session.id),
        )
        found = [await self.get(session.id) for session in rows]
        return [session for session in found if session is not None]
