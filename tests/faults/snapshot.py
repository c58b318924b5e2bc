"""The shop's books as the database holds them once the run is over, read by SQL in one
repeatable-read transaction (a consistent picture even if a straggler still wrote).

Orders and payments are read through the adapters' own row mappers, so the checks see the
aggregates the shop sees; everything else (stock levels and movements, reservations, carts,
the simulated gateway's charges and answers, idempotency keys, dead letters) is plain rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import tables
from adapters.db.mappers import ORDER, PAYMENT
from shopcore.ordering.model import CAPTURED_STATES, Order, OrderStatus
from shopcore.payments.model import Payment

PLACED = frozenset({OrderStatus.CONFIRMED, *CAPTURED_STATES})  # its checkout answered 201


@dataclass(frozen=True)
class Charge:
    order_id: str | None  # from the gateway's answer to "<order id>:authorize"
    amount: int
    captured: int
    refunded: int
    voided: bool

    @property
    def open(self) -> bool:
        return not self.voided and not self.captured


@dataclass(frozen=True)
class Snapshot:
    orders: dict[str, Order]
    payments: dict[str, list[Payment]]  # by order id
    levels: dict[str, tuple[int, int, int]]  # sku -> (on hand, reserved, allocated)
    movements: dict[tuple[str, str], int]  # (sku, kind) -> sum of deltas
    reservations: dict[str, str]  # id (the order's) -> status
    carts: dict[str, tuple[str, str | None]]  # id -> (status, order id)
    charges: dict[str, Charge]  # by gateway reference
    keys: dict[tuple[str, str], str | None]  # (owner, key) -> the order it names
    dead_letters: list[tuple[str, str, str]]  # (group, event type, error)
    unsettled: int
    unconfirmed_events: int
    active_reservations: int

    def having(self, *statuses: OrderStatus) -> dict[str, Order]:
        return {id: order for id, order in self.orders.items() if order.status in statuses}


async def read(engine: AsyncEngine) -> Snapshot:
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ")
        orders = {o.id: o for o in map(ORDER.from_row, await _rows(connection, tables.orders))}
        payments: dict[str, list[Payment]] = defaultdict(list)
        for payment in map(PAYMENT.from_row, await _rows(connection, tables.payments)):
            payments[payment.order_id].append(payment)
        return Snapshot(
            orders=orders,
            payments=dict(payments),
            levels=await _levels(connection),
            movements=await _movements(connection),
            reservations=await _pairs(connection, tables.reservations, "id", "status"),
            carts={
                row["id"]: (row["status"], row["order_id"])
                for row in await _rows(connection, tables.carts)
            },
            charges=await _charges(connection),
            keys={
                (row["owner"], row["key"]): row["resource"]
                for row in await _rows(connection, tables.idempotency_keys)
            },
            dead_letters=[
                (row["group_name"], row["event_type"], row["error"])
                for row in await _rows(connection, tables.dead_letters)
            ],
            **await counts(connection),
        )


async def counts(connection: AsyncConnection) -> dict[str, int]:
    """What is still under way: unsettled orders, events not every group has acknowledged,
    reservations still holding stock. All three are 0 once the shop has settled."""
    orders, outbox, reservations = tables.orders, tables.outbox, tables.reservations
    return {
        "unsettled": await _count(connection, orders, orders.c.settle_by.is_not(None)),
        "unconfirmed_events": await _count(connection, outbox, outbox.c.confirmed_at.is_(None)),
        "active_reservations": await _count(
            connection, reservations, reservations.c.status == "active"
        ),
    }


async def _count(connection: AsyncConnection, table: Any, condition: Any) -> int:
    query = select(func.count()).select_from(table).where(condition)
    return int((await connection.execute(query)).scalar_one())


async def _rows(connection: AsyncConnection, table: Any) -> list[Any]:
    return list((await connection.execute(select(table))).mappings())


async def _pairs(connection: AsyncConnection, table: Any, key: str, value: str) -> dict[str, str]:
    return {row[key]: row[value] for row in await _rows(connection, table)}


async def _levels(connection: AsyncConnection) -> dict[str, tuple[int, int, int]]:
    levels: dict[str, tuple[int, int, int]] = {}
    for row in await _rows(connection, tables.stock_levels):
        on_hand, reserved, allocated = levels.get(row["sku"], (0, 0, 0))
        levels[row["sku"]] = (
            on_hand + row["on_hand"],
            reserved + row["reserved"],
            allocated + row["allocated"],
        )
    return levels


async def _movements(connection: AsyncConnection) -> dict[tuple[str, str], int]:
    movements = tables.stock_movements
    rows = await connection.execute(
        select(movements.c.sku, movements.c.kind, func.sum(movements.c.delta)).group_by(
            movements.c.sku, movements.c.kind
        )
    )
    return {(sku, kind): int(total) for sku, kind, total in rows}


async def _charges(connection: AsyncConnection) -> dict[str, Charge]:
    answers = tables.simulated_gateway_answers
    authorized = {
        row["reference"]: row["idempotency_key"].removesuffix(":authorize")
        for row in await _rows(connection, answers)
        if row["idempotency_key"].endswith(":authorize") and row["reference"]
    }
    return {
        row["reference"]: Charge(
            order_id=authorized.get(row["reference"]),
            amount=row["amount"],
            captured=row["captured"],
            refunded=row["refunded"],
            voided=row["voided"],
        )
        for row in await _rows(connection, tables.simulated_gateway_charges)
    }
