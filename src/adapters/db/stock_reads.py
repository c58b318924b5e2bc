"""What the SQL stock ledger reads: stock levels net of lapsed holds, reservations with their
lines, and the movement log. One statement each, run on whichever connection serves the unit's
reads (stock.py); none of them locks anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import driver_statements as driver
from adapters.db.tables import reservation_lines, reservations, stock_levels, stock_movements
from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockLevel,
    StockMovement,
)

levels_t, lines_t, res_t = stock_levels, reservation_lines, reservations


def levels_statement(*, array: bool = False) -> Select[Any]:
    """The levels of the SKUs in `:skus` at every location, `reserved` without the lines of
    reservations that lapsed by `:now` but that no statement has un-held yet. Built once: a
    statement built per call cost more Python than its execution.

    `array`: `:skus` is one PostgreSQL array (`= ANY`), for statements sent to the driver as
    compiled once; else an IN list that SQLAlchemy expands to the SKUs given."""
    wanted: BindParameter[Any] = (
        bindparam("skus", type_=postgresql.ARRAY(String))
        if array
        else bindparam("skus", expanding=True)
    )

    def among(column: ColumnElement[str]) -> ColumnElement[bool]:
        return column == any_(wanted) if array else column.in_(wanted)

    lapsed = (
        select(
            lines_t.c.sku,
            lines_t.c.location,
            func.sum(lines_t.c.quantity).label("quantity"),
        )
        .join(res_t, res_t.c.id == lines_t.c.reservation_id)
        .where(
            among(lines_t.c.sku),
            lines_t.c.held.is_(True),
            res_t.c.status == ReservationStatus.ACTIVE.value,
            res_t.c.expires_at <= bindparam("now"),
        )
        .group_by(lines_t.c.sku, lines_t.c.location)
        .subquery()
    )
    return (
        select(
            levels_t.c.sku,
            levels_t.c.location,
            levels_t.c.on_hand,
            (levels_t.c.reserved - func.coalesce(lapsed.c.quantity, 0)).label("reserved"),
            levels_t.c.allocated,
        )
        .select_from(
            levels_t.outerjoin(
                lapsed,
                and_(
                    lapsed.c.sku == levels_t.c.sku,
                    lapsed.c.location == levels_t.c.location,
                ),
            )
        )
        .where(among(levels_t.c.sku))
        .order_by(levels_t.c.sku, levels_t.c.location)
    )


_LEVELS = levels_statement()


async def read_levels(
    connection: AsyncConnection, skus: Sequence[str], now: datetime
) -> list[StockLevel]:
    """The levels of these SKUs at every location, `reserved` without the lines of
    reservations that lapsed but that no statement has un-held yet."""
    result = await driver.run(connection, _LEVELS, {"skus": list(skus), "now": now})
    return levels_of(result.tuples())


def levels_of(rows: Iterable[Sequence[Any]]) -> list[StockLevel]:
    """The rows of a levels statement as StockLevels (the sums come back as decimals)."""
    return [
        StockLevel(
            sku=sku,
            location=location,
            on_hand=int(on_hand),
            reserved=int(reserved),
            allocated=int(allocated),
        )
        for sku, location, on_hand, reserved, allocated in rows
    ]


# Built once, like _LEVELS: the ids come bound at execution.
_RESERVATIONS = (
    select(
        res_t.c.id,
        res_t.c.status,
        res_t.c.expires_at,
        res_t.c.created_at,
        lines_t.c.sku,
        lines_t.c.location,
        lines_t.c.quantity,
    )
    .select_from(res_t.outerjoin(lines_t, lines_t.c.reservation_id == res_t.c.id))
    .where(res_t.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(res_t.c.id, lines_t.c.position)
)


async def load_reservations(connection: AsyncConnection, ids: Sequence[str]) -> list[Reservation]:
    """The reservations with these ids, in that order, heads and lines in one statement."""
    if not ids:
        return []
    rows = (await driver.run(connection, _RESERVATIONS, {"ids": list(ids)})).rows
    heads: dict[str, Any] = {}
    lines: dict[str, list[ReservationLine]] = defaultdict(list)
    for row in rows:
        heads.setdefault(row["id"], row)
        if row["sku"] is not None:
            lines[row["id"]].append(
                ReservationLine(
                    sku=row["sku"], location=row["location"], quantity=int(row["quantity"])
                )
            )
    return [
        Reservation(
            id=head["id"],
            lines=tuple(lines[head["id"]]),
            status=ReservationStatus(head["status"]),
            expires_at=head["expires_at"],
            created_at=head["created_at"],
        )
        for head in sorted(heads.values(), key=lambda head: ids.index(head["id"]))
    ]


async def read_movements(connection: AsyncConnection, sku: str) -> list[StockMovement]:
    statement = (
        select(stock_movements).where(stock_movements.c.sku == sku).order_by(stock_movements.c.id)
    )
    rows = (await connection.execute(statement)).mappings().all()
    return [
        StockMovement(
            sku=row["sku"],
            location=row["location"],
            kind=MovementKind(row["kind"]),
            delta=int(row["delta"]),
            reason=row["reason"],
            at=row["at"],
        )
        for row in rows
    ]
