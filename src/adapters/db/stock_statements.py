"""The statements the SQL stock ledger (stock.py) is built from: each one conditional statement
that the database applies atomically under its row locks, never a read in Python followed by
a write.

Stock rows are locked in (sku, location) order: one statement per row in that order
(`shift_row`), or one statement that first locks all of its rows in that order (`take_all`).
`reservation_lines.held` is written by one statement only, `mark_lines`; its callers differ in
which lines they select, which they say with `Lines`.

The statements on a checkout's path are built once per shape (whether the PostgreSQL row locks
are taken, the number of rows where the SQL text depends on it, which columns change) and kept
in module-level dicts, with every value bound at execution: building them per call cost more
Python than running them. Parameter names never equal a column's name, which an UPDATE would
take as a value to SET.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from adapters.db import driver_statements as driver
from adapters.db import stock_postgres
from adapters.db.tables import reservation_lines, reservations, stock_levels, stock_movements
from shopcore.inventory.model import ReservationLine, ReservationStatus, StockLevel, StockMovement

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


def _add_on_hand(dialect: Literal["postgresql", "sqlite"]) -> Any:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(levels_t).values(
        sku=bindparam("sku_", type_=levels_t.c.sku.type),
        location=bindparam("location_", type_=levels_t.c.location.type),
        on_hand=bindparam("delta_", type_=levels_t.c.on_hand.type),
        reserved=0,
        allocated=0,
    )
    return statement.on_conflict_do_update(
        index_elements=[levels_t.c.sku, levels_t.c.location],
        set_={"on_hand": levels_t.c.on_hand + statement.excluded.on_hand},
    )


# A staff receipt's upsert, built per call, spent about a millisecond in SQLAlchemy's
# statement caching before its stock event could be written (bench item 4).
_ADD_ON_HAND = {dialect: _add_on_hand(dialect) for dialect in ("postgresql", "sqlite")}
_LOG_MOVEMENT = insert(stock_movements)


async def add_on_hand(connection: AsyncConnection, sku: str, location: str, delta: int) -> None:
    statement = _ADD_ON_HAND[connection.dialect.name]
    await driver.run(connection, statement, {"sku_": sku, "location_": location, "delta_": delta})


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
    after: dict[tuple[str, str], StockLevel] | None = None,
    locations: dict[str, frozenset[str]] | None = None,
    still_held: set[tuple[str, str]] | None = None,
) -> list[str]:
    """Move every line's quantity into `reserved` or `allocated`, or none of it: the short
    SKUs come back after what was taken is given back (the caller's unit may still commit).
    A line still held by reservation `held_by` moves from reserved to allocated unchecked; a
    line that no longer holds (its reservation lapsed) must find its stock available again.

    Two statements whatever the number of lines (one on PostgreSQL through asyncpg:
    stock_postgres.py): one un-holds, on these rows, the lines of `held_by` and those of
    reservations that lapsed without a sweep; one applies every row's change under the
    condition that its available stock stays >= 0, locking the rows in (sku, location)
    order. A row the condition refused is short.

    With `after`, each row as the statement left it goes there, and with `locations`, each
    SKU kept at that one location only (the statement counts its rows): together, the levels
    the caller announces, without reading them again (a SKU kept at other locations too
    gets none there). With `still_held`, the rows on which
    `held_by` still held its line go there (those moved from reserved to allocated unchecked)."""
    if stock_postgres.applies(connection):
        rows, unheld = await stock_postgres.take_in_one(
            connection, lines, now, into=into, held_by=held_by
        )
    else:
        rows, unheld = await _take_in_two(connection, lines, now, into=into, held_by=held_by)
    return await _taken(
        connection,
        lines,
        rows,
        unheld,
        into=into,
        held_by=held_by,
        after=after,
        locations=locations,
        still_held=still_held,
    )


async def allocate_and_take(
    connection: AsyncConnection,
    reservation_id: str,
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
    *,
    after: dict[tuple[str, str], StockLevel] | None = None,
    locations: dict[str, frozenset[str]] | None = None,
    still_held: set[tuple[str, str]] | None = None,
) -> list[str] | None:
    """On PostgreSQL through asyncpg (`stock_postgres.applies`): move the active reservation
    to allocated and its `lines` (as the caller knows them: its own) into allocated, as
    `take_all(..., into="allocated", held_by=reservation_id)` does after a compare-and-set of
    the status, in one statement. None when the reservation was not active: nothing changed.
    Else the short SKUs, the status left allocated (the caller moves it back)."""
    moved, rows, unheld = await stock_postgres.allocate_and_take(
        connection, reservation_id, lines, now
    )
    if not moved:
        return None
    return await _taken(
        connection,
        lines,
        rows,
        unheld,
        into="allocated",
        held_by=reservation_id,
        after=after,
        locations=locations,
        still_held=still_held,
    )


async def _taken(
    connection: AsyncConnection,
    lines: Sequence[tuple[tuple[str, str], int]],
    rows: Sequence[Any],
    unheld: Sequence[tuple[str, ReservationLine]],
    *,
    into: str,
    held_by: str | None,
    after: dict[tuple[str, str], StockLevel] | None,
    locations: dict[str, frozenset[str]] | None,
    still_held: set[tuple[str, str]] | None,
) -> list[str]:
    """What a take's statement changed, accounted: `after`, `locations` and `still_held`
    filled, and, when a row was short, every other row's change given back."""
    keys = [key for key, _ in lines]
    wanted = dict(lines)
    freed = defaultdict(int, totals([line for _, line in unheld]))
    held = {(line.sku, line.location) for owner, line in unheld if owner == held_by}
    taken = {(row[0], row[1]) for row in rows}
    if still_held is not None:
        still_held.update(held)
    short = [sku for (sku, location) in keys if (sku, location) not in taken]
    if after is not None and not short:
        # Each row as it now stands: what lapsed there was un-held and taken off `reserved`
        # by the take itself, so these are the levels a read would give.
        for sku, location, on_hand, reserved_now, allocated_now, kept_at in rows:
            if locations is not None:
                # Kept elsewhere too: which other locations the take does not say (empty).
                locations[sku] = frozenset((location,)) if kept_at == 1 else frozenset()
            after[(sku, location)] = StockLevel(
                sku=sku,
                location=location,
                on_hand=on_hand,
                reserved=reserved_now,
                allocated=allocated_now,
            )
    if short:
        for key in keys:
            sku, location = key
            if key not in taken:  # unchanged, but what lapsed there was un-held
                if freed[key]:
                    await shift_row(connection, sku, location, reserved=-freed[key])
            elif key in held:  # back to held and reserved
                await mark_lines(connection, Lines(of=[held_by or ""], on=[key]), held=True)
                quantity = wanted[key]
                await shift_row(connection, sku, location, reserved=quantity, allocated=-quantity)
            else:  # keep only the lapsed holds' release
                await shift_row(connection, sku, location, **{into: -wanted[key]})
    return short


async def _take_in_two(
    connection: AsyncConnection,
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
    *,
    into: str,
    held_by: str | None,
) -> tuple[list[Any], list[tuple[str, ReservationLine]]]:
    """take_all's statements on any other connection: the lines un-held, then the rows."""
    keys = [key for key, _ in lines]
    wanted = dict(lines)
    # Un-hold, on these rows, the lines of `held_by` and those whose reservation lapsed.
    of = None if held_by is None else [held_by]
    unheld = await mark_lines(connection, Lines(of=of, lapsed_by=now, on=keys), held=False)
    freed = defaultdict(int, totals([line for _, line in unheld]))
    # reserved changes by what it takes minus what lapsed (or moves to allocated) there.
    reserved = [(wanted[key] if into == "reserved" else 0) - freed[key] for key in keys]
    allocated = [wanted[key] if into == "allocated" else 0 for key in keys]
    need = [r + a for r, a in zip(reserved, allocated, strict=True)]
    changes: dict[str, list[int]] = {"need": need, "reserved": reserved}
    if any(allocated):
        changes["allocated"] = allocated
    locking = len(keys) >= 2 and connection.dialect.name == "postgresql"
    shape = (locking, len(keys), tuple((name, _kind(numbers)) for name, numbers in changes.items()))
    statement = _TAKES.get(shape)
    if statement is None:
        statement = _TAKES[shape] = _take_statement(*shape)
    params: dict[str, Any] = {"keys": keys}
    if any(kind == "case" for _, kind in shape[2]):
        for i, (sku, location) in enumerate(keys):
            params[f"sku_{i}"], params[f"location_{i}"] = sku, location
    for name, numbers in changes.items():
        if _kind(numbers) == "same":
            params[f"d_{name}"] = numbers[0]
        else:
            params.update({f"d_{name}_{i}": number for i, number in enumerate(numbers)})
    result = await driver.run(connection, statement, params)
    return result.tuples(), unheld


# "same": one number for every row, bound as `:d_<name>`; "case": each row's own, in a CASE
# over the rows `:sku_<i>`/`:location_<i>` bound as `:d_<name>_<i>`.
_Kind = Literal["same", "case"]
# (rows locked first, number of rows, each changing number's name and kind) -> statement.
# Bounded: a reservation has at most 100 rows (inventory's MAX_LINES), 24 shapes each at most.
_TakeShape = tuple[bool, int, tuple[tuple[str, _Kind], ...]]
_TAKES: dict[_TakeShape, Update] = {}


def _kind(numbers: Sequence[int]) -> _Kind:
    return "same" if len(set(numbers)) == 1 else "case"


def _take_statement(locking: bool, count: int, changes: tuple[tuple[str, _Kind], ...]) -> Update:
    """take_all's UPDATE of the rows in `:keys`: `need` is what each row's available stock must
    cover, the other names are the columns that change."""
    rows = [
        and_(
            levels_t.c.sku == bindparam(f"sku_{i}"),
            levels_t.c.location == bindparam(f"location_{i}"),
        )
        for i in range(count)
    ]

    def per_row(name: str, kind: _Kind) -> Any:
        """Each stock row's own number, as one SQL expression over the rows of `:keys`."""
        if kind == "same":
            return bindparam(f"d_{name}", type_=BigInteger)
        return case(
            *((row, bindparam(f"d_{name}_{i}", type_=BigInteger)) for i, row in enumerate(rows)),
            else_=0,
        )

    numbers = {name: per_row(name, kind) for name, kind in changes}
    return (
        update(levels_t)
        .where(
            _rows_locked_in_order(locking),
            levels_t.c.on_hand - levels_t.c.reserved - levels_t.c.allocated >= numbers.pop("need"),
        )
        .values({column: levels_t.c[column] + number for column, number in numbers.items()})
        .returning(
            levels_t.c.sku,
            levels_t.c.location,
            levels_t.c.on_hand,
            levels_t.c.reserved,
            levels_t.c.allocated,
            _KEPT_AT,
        )
    )


# How many locations keep each row's SKU: 1 says the row is all of the SKU's stock.
_others = stock_levels.alias("others")
_KEPT_AT = (
    select(func.count()).where(_others.c.sku == levels_t.c.sku).scalar_subquery().label("kept_at")
)


def _rows_locked_in_order(locking: bool) -> Any:
    """The WHERE clause for the stock rows in `:keys`. With `locking` (several rows on
    PostgreSQL), a sub-select locks them first, in (sku, location) order, as single-row
    statements in that order would; SQLite has one writer at a time and needs no order."""
    match = tuple_(levels_t.c.sku, levels_t.c.location).in_(bindparam("keys", expanding=True))
    if not locking:
        return match
    rows = levels_t.alias("locked")
    locked = (
        select(rows.c.sku, rows.c.location)
        .where(tuple_(rows.c.sku, rows.c.location).in_(bindparam("keys", expanding=True)))
        .order_by(rows.c.sku, rows.c.location)
        .with_for_update()
    )
    return and_(match, tuple_(levels_t.c.sku, levels_t.c.location).in_(locked))


@dataclass(frozen=True, slots=True)
class Lines:
    """Which reservation lines a statement selects: those whose reservation is one of `of` or
    (with `lapsed_by`) expired by then while still active, as no sweep has reached it; only
    those on the stock rows `on`, when given."""

    of: Sequence[str] | None = None
    lapsed_by: datetime | None = None
    on: Sequence[tuple[str, str]] | None = None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.of is not None:
            params["of"] = list(self.of)
        if self.lapsed_by is not None:
            params["now"] = self.lapsed_by
        if self.on is not None:
            params["on"] = list(self.on)
        return params


# (of, lapsed_by, on given; held) -> mark_lines's statement.
_MARKS: dict[tuple[bool, bool, bool, bool], Update] = {}


def _mark_statement(of: bool, lapsed: bool, on: bool, held: bool) -> Update:
    owners: list[ColumnElement[bool]] = []
    if of:
        owners.append(lines_t.c.reservation_id.in_(bindparam("of", expanding=True)))
    if lapsed:
        expired = select(res_t.c.id).where(
            res_t.c.status == _ACTIVE, res_t.c.expires_at <= bindparam("now")
        )
        owners.append(lines_t.c.reservation_id.in_(expired))
    which: list[ColumnElement[bool]] = []
    if on:
        which.append(tuple_(lines_t.c.sku, lines_t.c.location).in_(bindparam("on", expanding=True)))
    if owners:
        which.append(or_(*owners))
    return (
        update(lines_t)
        .where(*which, lines_t.c.held.is_(not held))
        .values(held=held)
        .returning(lines_t.c.reservation_id, lines_t.c.sku, lines_t.c.location, lines_t.c.quantity)
    )


async def mark_lines(
    connection: AsyncConnection, which: Lines, *, held: bool
) -> list[tuple[str, ReservationLine]]:
    """Mark the reservation lines `which` selects as held or not, each only if it is not so
    already, and return the lines it changed with their reservations' ids: the caller moves
    exactly those quantities in `reserved`. The one statement that writes `held`; callers
    differ only in the lines they select."""
    shape = (which.of is not None, which.lapsed_by is not None, which.on is not None, held)
    statement = _MARKS.get(shape)
    if statement is None:
        statement = _MARKS[shape] = _mark_statement(*shape)
    result = await driver.run(connection, statement, which.params())
    return [
        (owner, ReservationLine(sku=sku, location=location, quantity=int(quantity)))
        for owner, sku, location, quantity in result.tuples()
    ]


async def give_back(connection: AsyncConnection, which: Lines) -> None:
    """Un-hold the lines `which` selects and take what they held out of `reserved`, one stock
    row at a time in (sku, location) order."""
    unheld = await mark_lines(connection, which, held=False)
    for (sku, location), quantity in totals([line for _, line in unheld]):
        await shift_row(connection, sku, location, reserved=-quantity)


_SHIFT = (
    update(levels_t)
    .where(levels_t.c.sku == bindparam("sku_"), levels_t.c.location == bindparam("location_"))
    .values(
        on_hand=levels_t.c.on_hand + bindparam("d_on_hand", type_=BigInteger),
        reserved=levels_t.c.reserved + bindparam("d_reserved", type_=BigInteger),
        allocated=levels_t.c.allocated + bindparam("d_allocated", type_=BigInteger),
    )
)


async def shift_row(
    connection: AsyncConnection,
    sku: str,
    location: str,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    allocated: int = 0,
) -> None:
    await driver.run(
        connection,
        _SHIFT,
        {
            "sku_": sku,
            "location_": location,
            "d_on_hand": on_hand,
            "d_reserved": reserved,
            "d_allocated": allocated,
        },
    )


_MOVE = (
    update(res_t)
    .where(res_t.c.id == bindparam("id_"), res_t.c.status == bindparam("expected_"))
    .values(status=bindparam("target_"))
)


async def move_status(
    connection: AsyncConnection,
    reservation_id: str,
    expected: ReservationStatus,
    target: ReservationStatus,
) -> bool:
    """Compare-and-set the status: only one writer moves a reservation out of a state."""
    result = await driver.run(
        connection,
        _MOVE,
        {"id_": reservation_id, "expected_": expected.value, "target_": target.value},
    )
    return bool(result.rowcount == 1)


async def log_movements(connection: AsyncConnection, movements: Sequence[StockMovement]) -> None:
    await driver.run_many(
        connection,
        _LOG_MOVEMENT,
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
