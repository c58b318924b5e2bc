"""The statements the SQL stock ledger (stock.py) is built from: each one conditional statement
that the database applies atomically under its row locks, never a read in Python followed by
a write.

Stock rows are locked in (sku, location) order: one statement per row in that order
(`shift_row`), or one statement that first locks all of its rows in that order (`take_all`).
`reservation_lines.held` is written by one statement only, `mark_lines`; its callers differ in
which lines they select, and build that selection from `lines_of`, `lines_on` and
`lines_lapsed`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from adapters.db.session import dialect_insert
from adapters.db.tables import reservation_lines, reservations, stock_levels, stock_movements
from shopcore.inventory.model import ReservationLine, ReservationStatus, StockMovement

_ACTIVE = ReservationStatus.ACTIVE.value
levels_t, lines_t, res_t = stock_levels, reservation_lines, reservations


def _at(sku: str, location: str) -> Any:
    return and_(levels_t.c.sku == sku, levels_t.c.location == location)


def totals(lines: Iterable[ReservationLine]) -> list[tuple[tuple[str, str], int]]:
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        wanted[(line.sku, line.location)] += line.quantity
    return sorted(wanted.items())


def first_position(lines: Sequence[ReservationLine], sku: str, location: str) -> int:
    return next(i for i, line in enumerate(lines) if (line.sku, line.location) == (sku, location))


async def add_on_hand(connection: AsyncConnection, sku: str, location: str, delta: int) -> None:
    values = {"sku": sku, "location": location, "on_hand": delta, "reserved": 0, "allocated": 0}
    statement = dialect_insert(connection, levels_t).values(values)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[levels_t.c.sku, levels_t.c.location],
            set_={"on_hand": levels_t.c.on_hand + statement.excluded.on_hand},
        )
    )


async def lower_on_hand(connection: AsyncConnection, sku: str, location: str, delta: int) -> bool:
    """Lower on_hand by -`delta` unless that leaves less than is reserved and allocated there:
    whether it did."""
    result = await connection.execute(
        update(levels_t)
        .where(
            _at(sku, location),
            levels_t.c.on_hand + delta >= levels_t.c.reserved + levels_t.c.allocated,
        )
        .values(on_hand=levels_t.c.on_hand + delta)
    )
    return bool(result.rowcount == 1)


async def take_all(
    connection: AsyncConnection,
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
    *,
    into: str,
    held_by: str | None = None,
) -> list[str]:
    """Move every line's quantity into `reserved` or `allocated`, or none of it: the short
    SKUs come back after what was taken is given back (the caller's unit may still commit).
    A line still held by reservation `held_by` moves from reserved to allocated unchecked; a
    line that no longer holds (its reservation lapsed) must find its stock available again.

    Two statements whatever the number of lines: one un-holds, on these rows, the lines of
    `held_by` and those of reservations that lapsed without a sweep; one applies every row's
    change under the condition that its available stock stays >= 0, locking the rows in
    (sku, location) order. A row the condition refused is short."""
    keys = [key for key, _ in lines]
    wanted = dict(lines)
    # Un-hold, on these rows, the lines of `held_by` and those whose reservation lapsed.
    whose = lines_lapsed(now)
    if held_by is not None:
        whose = or_(lines_of(held_by), whose)
    unheld = await mark_lines(connection, and_(lines_on(keys), whose), held=False)
    freed = defaultdict(int, totals([line for _, line in unheld]))
    held = {(line.sku, line.location) for owner, line in unheld if owner == held_by}
    # reserved changes by what it takes minus what lapsed (or moves to allocated) there.
    reserved = {key: (wanted[key] if into == "reserved" else 0) - freed[key] for key in keys}
    allocated = {key: wanted[key] if into == "allocated" else 0 for key in keys}
    need = {key: reserved[key] + allocated[key] for key in keys}
    result = await connection.execute(
        update(levels_t)
        .where(
            _rows_locked_in_order(connection, keys),
            levels_t.c.on_hand - levels_t.c.reserved - levels_t.c.allocated >= _per_row(need),
        )
        .values(
            {
                column: levels_t.c[column] + _per_row(change)
                for column, change in (("reserved", reserved), ("allocated", allocated))
                if any(change.values()) or column == "reserved"
            }
        )
        .returning(levels_t.c.sku, levels_t.c.location)
    )
    taken = {(sku, location) for sku, location in result.all()}
    short = [sku for (sku, location) in keys if (sku, location) not in taken]
    if short:
        for key in keys:
            sku, location = key
            if key not in taken:  # unchanged, but what lapsed there was un-held
                if freed[key]:
                    await shift_row(connection, sku, location, reserved=-freed[key])
            elif key in held:  # back to held and reserved
                await mark_lines(
                    connection, and_(lines_of(held_by or ""), lines_on([key])), held=True
                )
                quantity = wanted[key]
                await shift_row(connection, sku, location, reserved=quantity, allocated=-quantity)
            else:  # keep only the lapsed holds' release
                await shift_row(connection, sku, location, **{into: -wanted[key]})
    return short


def _per_row(numbers: dict[tuple[str, str], int]) -> Any:
    """Each stock row's own number, as one SQL expression over the rows of `numbers`."""
    if len(set(numbers.values())) == 1:
        return next(iter(numbers.values()))
    return case(
        *(
            (and_(levels_t.c.sku == sku, levels_t.c.location == location), number)
            for (sku, location), number in numbers.items()
        ),
        else_=0,
    )


def _rows_locked_in_order(connection: AsyncConnection, keys: Sequence[tuple[str, str]]) -> Any:
    """The WHERE clause for these stock rows. With several rows on PostgreSQL, a sub-select
    locks them first, in (sku, location) order, as single-row statements in that order would;
    SQLite has one writer at a time and needs no order."""
    match = tuple_(levels_t.c.sku, levels_t.c.location).in_(keys)
    if len(keys) < 2 or connection.dialect.name != "postgresql":
        return match
    rows = levels_t.alias("locked")
    locked = (
        select(rows.c.sku, rows.c.location)
        .where(tuple_(rows.c.sku, rows.c.location).in_(keys))
        .order_by(rows.c.sku, rows.c.location)
        .with_for_update()
    )
    return and_(match, tuple_(levels_t.c.sku, levels_t.c.location).in_(locked))


def lines_of(*reservation_ids: str) -> ColumnElement[bool]:
    return lines_t.c.reservation_id.in_(reservation_ids)


def lines_on(keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    return tuple_(lines_t.c.sku, lines_t.c.location).in_(keys)


def lines_lapsed(now: datetime) -> ColumnElement[bool]:
    """Lines of reservations that expired but are still active: no sweep has reached them."""
    lapsed = select(res_t.c.id).where(res_t.c.status == _ACTIVE, res_t.c.expires_at <= now)
    return lines_t.c.reservation_id.in_(lapsed)


async def mark_lines(
    connection: AsyncConnection, which: ColumnElement[bool], *, held: bool
) -> list[tuple[str, ReservationLine]]:
    """Mark the reservation lines `which` selects as held or not, each only if it is not so
    already, and return the lines it changed with their reservations' ids: the caller moves
    exactly those quantities in `reserved`. The one statement that writes `held`; callers
    differ only in the lines they select (`lines_of`, `lines_on`, `lines_lapsed`)."""
    result = await connection.execute(
        update(lines_t)
        .where(which, lines_t.c.held.is_(not held))
        .values(held=held)
        .returning(lines_t.c.reservation_id, lines_t.c.sku, lines_t.c.location, lines_t.c.quantity)
    )
    return [
        (owner, ReservationLine(sku=sku, location=location, quantity=int(quantity)))
        for owner, sku, location, quantity in result.all()
    ]


async def give_back(connection: AsyncConnection, which: ColumnElement[bool]) -> None:
    """Un-hold the lines `which` selects and take what they held out of `reserved`, one stock
    row at a time in (sku, location) order."""
    unheld = await mark_lines(connection, which, held=False)
    for (sku, location), quantity in totals([line for _, line in unheld]):
        await shift_row(connection, sku, location, reserved=-quantity)


async def shift_row(
    connection: AsyncConnection,
    sku: str,
    location: str,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    allocated: int = 0,
) -> None:
    await connection.execute(
        update(levels_t)
        .where(_at(sku, location))
        .values(
            on_hand=levels_t.c.on_hand + on_hand,
            reserved=levels_t.c.reserved + reserved,
            allocated=levels_t.c.allocated + allocated,
        )
    )


async def move_status(
    connection: AsyncConnection,
    reservation_id: str,
    expected: ReservationStatus,
    target: ReservationStatus,
) -> bool:
    """Compare-and-set the status: only one writer moves a reservation out of a state."""
    result = await connection.execute(
        update(res_t)
        .where(res_t.c.id == reservation_id, res_t.c.status == expected.value)
        .values(status=target.value)
    )
    return bool(result.rowcount == 1)


async def log_movements(connection: AsyncConnection, movements: Sequence[StockMovement]) -> None:
    await connection.execute(
        insert(stock_movements),
        [
            {
                "sku": movement.sku,
                "location": movement.location,
                "kind": movement.kind.value,
                "delta": movement.delta,
                "reason": movement.reason,
                "at": movement.at,
            }
            for movement in movements
        ],
    )
