"""SQL repositories for the aggregate-shaped ports. Reads go through the unit's identity map,
so one unit of work sees one copy of each aggregate; writes happen at commit (session.py)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, Select, Table, bindparam, delete, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import driver_statements as driver
from adapters.db import tables
from adapters.db.connections import Connections
from adapters.db.errors import translated
from adapters.db.mappers import (
    CART,
    CUSTOMER,
    ORDER,
    PAYMENT,
    PRODUCT,
    REFRESH_SESSION,
    AggregateMapper,
    product_from,
    variant_rows,
)
from adapters.db.session import Session, insert_or_skip
from shopcore.cart.model import Cart, CartStatus
from shopcore.catalog.model import Product, ProductStatus
from shopcore.catalog.views import SkuPrice
from shopcore.customers.model import Customer
from shopcore.customers.sessions import RefreshSession
from shopcore.ordering.model import Order, OrderStatus
from shopcore.payments.model import Payment
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists
from shopcore.shared.money import Money

A = TypeVar("A", bound=Aggregate)


# Built once per table: building a statement costs more Python than running it does.
_BY_ID: dict[str, Select[Any]] = {}


def _by_id(table: Table) -> Select[Any]:
    statement = _BY_ID.get(table.name)
    if statement is None:
        statement = _BY_ID[table.name] = select(table).where(table.c.id == bindparam("id"))
    return statement


def _owners_of() -> Select[Any]:
    """The products owning the SKUs `:skus`, with all their variants (a product row per
    variant). Built once, so the driver runs it (driver_statements.py)."""
    products, variants = tables.products, tables.product_variants
    owners = select(variants.c.product_id).where(
        variants.c.sku.in_(bindparam("skus", expanding=True))
    )
    return (
        select(products, variants)
        .join_from(products, variants, variants.c.product_id == products.c.id)
        .where(products.c.id.in_(owners))
        .order_by(products.c.id, variants.c.position)
    )


_OWNERS_OF = _owners_of()


@functools.lru_cache(maxsize=128)
def _prices_of(count: int) -> Select[Any]:
    """The price rows of `count` SKUs, `:sku_0`...: built once per number of SKUs (a checkout
    sends a few), each SKU a parameter of its own, so the driver runs it prepared."""
    products, variants = tables.products, tables.product_variants
    wanted: list[Any] = [bindparam(f"sku_{k}") for k in range(count)]
    return (
        select(
            variants.c.sku,
            products.c.id,
            products.c.name,
            variants.c.price_amount,
            variants.c.currency,
            products.c.status,
        )
        .join_from(variants, products, variants.c.product_id == products.c.id)
        .where(variants.c.sku.in_(wanted))
    )


# A cart by id with the prices of its lines' SKUs (PostgreSQL): a checkout reads its cart and
# then those prices, and this is both in one round trip (`SeenPrices`). Each price as the
# columns of `_prices_of`, in a JSON array.
_CART_WITH_PRICES = select(
    tables.carts,
    literal_column(
        """(SELECT coalesce(json_agg(json_build_array(
                v.sku, p.id, p.name, v.price_amount, v.currency, p.status)), '[]')
            FROM product_variants AS v JOIN products AS p ON p.id = v.product_id
            WHERE v.sku = ANY (ARRAY(
                SELECT l.line->>'sku'
                FROM jsonb_array_elements(carts.body->'lines') AS l (line))))""",
        type_=JSON,
    ).label("line_prices"),
).where(tables.carts.c.id == bindparam("id"))


class SeenPrices:
    """The prices a cart's read brought with it, for the unit's next price read: a checkout's
    pricing then sends nothing (`SqlProductRepository.prices`). Taken once, and only when they
    cover every SKU asked for (a SKU the catalog no longer has counts as seen: absent); a
    commit or a rollback forgets them. As fresh as a read of the prices a moment later."""

    def __init__(self) -> None:
        self._skus: frozenset[str] = frozenset()
        self._rows: list[tuple[Any, ...]] = []

    def keep(self, skus: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._skus, self._rows = frozenset(skus), [tuple(row) for row in rows]

    def take(self, skus: Sequence[str]) -> list[tuple[Any, ...]] | None:
        seen, rows = self._skus, self._rows
        self.forget()
        if not seen or not seen.issuperset(skus):
            return None
        wanted = set(skus)
        return [row for row in rows if row[0] in wanted]

    def forget(self) -> None:
        self._skus, self._rows = frozenset(), []


class _Repository(Generic[A]):
    mapper: AggregateMapper[A]
    # Whether `add` may leave the row to the commit's one statement (Session.stage), where
    # the unit writes its commit so (`Connections.stages_inserts`): only for aggregates whose
    # callers need no clash before commit.
    staged_adds = False

    def __init__(self, connections: Connections, session: Session) -> None:
        self._connections = connections
        self._session = session

    async def _add(self, key: str, aggregate: A) -> None:
        if self.staged_adds and self._connections.stages_inserts:
            self._session.stage(self.mapper, aggregate, key)
            return
        connection = await self._connections.connection()
        async with translated():
            await self._session.insert(connection, self.mapper, aggregate, key)

    async def get(self, key: str) -> A | None:
        known = self._session.known(self.mapper, key)
        if known is not None:
            return known
        kept = self._session.take_kept(self.mapper, key)
        if kept is not None:
            return self._register(kept, key)
        connection = await self._connections.connection(write=False)
        rows = (await driver.run(connection, self._by_id(), {"id": key})).rows
        if not rows:
            return None
        aggregate = self._register(await self._build(connection, rows[0]), key)
        self._read_along(rows[0], aggregate)
        return aggregate

    def _by_id(self) -> Select[Any]:
        """The read by id: built once per table, so the driver runs it (driver_statements.py)."""
        return _by_id(self.mapper.table)

    def _read_along(self, row: Any, aggregate: A) -> None:
        """What a repository keeps of a row read by id besides its aggregate: nothing."""

    async def _select(
        self, statement: Select[Any], parameters: dict[str, Any] | None = None
    ) -> list[A]:
        connection = await self._connections.connection(write=False)
        async with translated():
            rows = (await connection.execute(statement, parameters)).mappings().all()
        return [self._register(await self._build(connection, row), row["id"]) for row in rows]

    async def _build(self, connection: AsyncConnection, row: Any) -> A:
        return self.mapper.from_row(row)

    def _register(self, aggregate: A, key: str) -> A:
        return self._session.loaded(self.mapper, aggregate, key)


class SqlProductRepository(_Repository[Product]):
    mapper = PRODUCT

    def __init__(self, connections: Connections, session: Session, seen: SeenPrices) -> None:
        super().__init__(connections, session)
        self._seen = seen

    async def add(self, product: Product) -> None:
        await self._add(product.id, product)

    async def get(self, key: str) -> Product | None:
        # Its variants come from a second statement (`_select`), not the driver's one.
        known = self._session.known(self.mapper, key)
        if known is not None:
            return known
        found = await self._select(_by_id(self.mapper.table), {"id": key})
        return found[0] if found else None

    async def get_by_slug(self, slug: str) -> Product | None:
        found = await self._select(select(tables.products).where(tables.products.c.slug == slug))
        return found[0] if found else None

    async def taken_skus(self, skus: Sequence[str], *, excluding: str | None = None) -> list[str]:
        variants = tables.product_variants
        statement = select(variants.c.sku).where(variants.c.sku.in_(sorted(set(skus))))
        if excluding is not None:
            statement = statement.where(variants.c.product_id != excluding)
        connection = await self._connections.connection(write=False)
        async with translated():
            return sorted((await connection.execute(statement)).scalars().all())

    async def by_skus(self, skus: Sequence[str]) -> list[Product]:
        """The owners of these SKUs with all their variants, in one statement (a product
        row comes once per variant)."""
        connection = await self._connections.connection(write=False)
        rows = (await driver.run(connection, _OWNERS_OF, {"skus": sorted(set(skus))})).rows
        heads: dict[str, Any] = {}
        children: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            heads.setdefault(row["id"], row)
            children[row["id"]].append(row)
        return [
            self._session.known(PRODUCT, id) or self._register(product_from(head, children[id]), id)
            for id, head in heads.items()
        ]

    async def prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        unique = sorted(set(skus))
        if not unique:
            return {}
        rows = self._seen.take(unique)
        if rows is None:
            connection = await self._connections.connection(write=False)
            parameters = {f"sku_{k}": sku for k, sku in enumerate(unique)}
            rows = (await driver.run(connection, _prices_of(len(unique)), parameters)).tuples()
        return {
            sku: SkuPrice(
                sku=sku,
                product_id=product_id,
                name=name,
                price=Money(amount, currency),
                sellable=status == ProductStatus.ACTIVE.value,
            )
            for sku, product_id, name, amount, currency, status in rows
        }

    async def _select(
        self, statement: Select[Any], parameters: dict[str, Any] | None = None
    ) -> list[Product]:
        connection = await self._connections.connection(write=False)
        async with translated():
            rows = (await connection.execute(statement, parameters)).mappings().all()
            ids = [row["id"] for row in rows if self._session.known(PRODUCT, row["id"]) is None]
            children: dict[str, list[Any]] = defaultdict(list)
            if ids:
                variants = tables.product_variants
                result = await connection.execute(
                    select(variants).where(variants.c.product_id.in_(ids))
                )
                for variant in result.mappings():
                    children[variant["product_id"]].append(variant)
        return [self._register(product_from(row, children[row["id"]]), row["id"]) for row in rows]


async def write_variants(
    connection: AsyncConnection, product: Product, before: Product | None
) -> None:
    """Keep product_variants equal to the product's variants; SKUs stay unique shop-wide."""
    if before is not None and before.variants == product.variants:
        return
    variants = tables.product_variants
    if before is not None:
        await connection.execute(delete(variants).where(variants.c.product_id == product.id))
    rows = variant_rows(product)
    statement = insert_or_skip(connection, variants).returning(variants.c.sku)
    result = await connection.execute(statement, rows)
    if len(result.all()) != len(rows):
        raise AlreadyExists(f"a SKU of product {product.id} belongs to another product")


class SqlCustomerRepository(_Repository[Customer]):
    mapper = CUSTOMER

    async def add(self, customer: Customer) -> None:
        await self._add(customer.id, customer)

    async def get_by_email(self, email: str) -> Customer | None:
        statement = select(tables.customers).where(
            tables.customers.c.email == email.strip().lower()
        )
        found = await self._select(statement)
        return found[0] if found else None


class SqlRefreshSessionRepository(_Repository[RefreshSession]):
    mapper = REFRESH_SESSION

    async def add(self, session: RefreshSession) -> None:
        await self._add(session.id, session)

    async def get_by_token_hash(self, token_hash: str) -> RefreshSession | None:
        sessions = tables.refresh_sessions
        found = await self._select(select(sessions).where(sessions.c.token_hash == token_hash))
        return found[0] if found else None

    async def family(self, family_id: str) -> list[RefreshSession]:
        return await self._select(self._family(family_id))

    async def live(self, family_id: str) -> list[RefreshSession]:
        sessions = tables.refresh_sessions
        return await self._select(
            self._family(family_id).where(
                sessions.c.used_at.is_(None), sessions.c.revoked_at.is_(None)
            )
        )

    async def live_of_customer(self, customer_id: str) -> list[RefreshSession]:
        sessions = tables.refresh_sessions
        return await self._select(
            select(sessions)
            .where(
                sessions.c.customer_id == customer_id,
                sessions.c.used_at.is_(None),
                sessions.c.revoked_at.is_(None),
            )
            .order_by(sessions.c.created_at, sessions.c.id)
        )

    @staticmethod
    def _family(family_id: str) -> Select[Any]:
        sessions = tables.refresh_sessions
        return (
            select(sessions)
            .where(sessions.c.family_id == family_id)
            .order_by(sessions.c.created_at, sessions.c.id)
        )


class SqlCartRepository(_Repository[Cart]):
    mapper = CART

    def __init__(self, connections: Connections, session: Session, seen: SeenPrices) -> None:
        super().__init__(connections, session)
        self._seen = seen

    async def add(self, cart: Cart) -> None:
        await self._add(cart.id, cart)

    def _by_id(self) -> Select[Any]:
        """On PostgreSQL the cart comes with its lines' prices (`SeenPrices`)."""
        return _CART_WITH_PRICES if self._connections.postgres else super()._by_id()

    def _read_along(self, row: Any, aggregate: Cart) -> None:
        if "line_prices" in row:
            self._seen.keep([line.sku for line in aggregate.lines], row["line_prices"])

    async def open_cart_of(self, customer_id: str) -> Cart | None:
        carts = tables.carts
        statement = (
            select(carts)
            .where(carts.c.customer_id == customer_id, carts.c.status == CartStatus.OPEN.value)
            .order_by(carts.c.updated_at.desc(), carts.c.id.desc())
            .limit(1)
        )
        found = await self._select(statement)
        return found[0] if found else None


class SqlOrderRepository(_Repository[Order]):
    mapper = ORDER
    # A checkout's order goes in with its first commit's other writes: one round trip
    # fewer. Its id clashes only when a checkout is resubmitted, which that commit's
    # AlreadyExists settles as a clash at `add` did (the whole unit rolls back).
    staged_adds = True

    async def add(self, order: Order) -> None:
        await self._add(order.id, order)

    def adopt(self, order: Order) -> None:
        self._register(order, order.id)

    async def page(
        self,
        *,
        customer_id: str | None,
        status: OrderStatus | None,
        before: str | None,
        limit: int,
    ) -> list[Order]:
        orders = tables.orders
        statement = select(orders).order_by(orders.c.id.desc()).limit(limit)
        if customer_id is not None:
            statement = statement.where(orders.c.customer_id == customer_id)
        if status is not None:
            statement = statement.where(orders.c.status == status.value)
        if before is not None:
            statement = statement.where(orders.c.id < before)
        return await self._select(statement)

    async def unsettled(self, *, due_before: datetime, limit: int) -> list[Order]:
        orders = tables.orders
        statement = (
            select(orders)
            .where(orders.c.settle_by.is_not(None), orders.c.settle_by < due_before)
            .order_by(orders.c.settle_by, orders.c.id)
            .limit(limit)
        )
        return await self._select(statement)


class SqlPaymentRepository(_Repository[Payment]):
    mapper = PAYMENT
    # A checkout records its authorization with its completing commit's other writes. A
    # clash (the recovery job recorded it first) is AlreadyExists at that commit, which the
    # checkout answers by going on with the recorded copy (settling.complete_checkout); a
    # payment recorded in a unit of its own clashes at its own commit, as at `add` before.
    staged_adds = True

    async def add(self, payment: Payment) -> None:
        await self._add(payment.id, payment)

    async def for_order(self, order_id: str) -> list[Payment]:
        payments = tables.payments
        statement = select(payments).where(payments.c.order_id == order_id).order_by(payments.c.id)
        return await self._select(statement)
