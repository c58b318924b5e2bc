"""The SQL stock ledger: every change is a conditional statement the database applies
atomically under its row lock, never a read in Python followed by a write.

`stock_levels.reserved` sums the reservation lines still marked `held`. A line of a
reservation that expired is un-held lazily by the next statement that touches its row (or by
the sweeper), so an expired reservation never blocks a sale, and `levels()` leaves such lines
out before that happens. Rows are always locked in (sku, location) order so that concurrent
multi-line reservations cannot deadlock one another: one statement per row in that order, or
one statement for all rows of a reservation that first locks them in that order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from adapters.db.connections import Connections
from adapters.db.errors import translated
from adapters.db.session import dialect_insert, insert_or_skip
from adapters.db.tables import reservation_lines, reservations, stock_levels, stock_movements
from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from shopcore.shared.errors import (
    AlreadyExists,
    InsufficientStock,
    NotFound,
    OutOfStock,
    TransientConflict,
)

ACTIVE = ReservationStatus.ACTIVE.value
levels_t, lines_t, res_t = stock_levels, reservation_lines, reservations

# A compare-and-set of a reservation's status loses only when another transaction moved the
# reservation between this one's read and its write; the next read (a fresh snapshot under READ
# COMMITTED) sees where it went, so a second attempt settles it in practice. Losing three times
# means something keeps moving it: rather than spin without bound inside this transaction,
# holding its row locks, give up with TransientConflict, which the bus retries as a whole
# command in a fresh unit of work after a backoff.
MOVE_ATTEMPTS = 3
# A change to one reservation as read: its new state, or None when its compare-and-set lost.
_Step = Callable[[AsyncConnection, Reservation], Awaitable[Reservation | None]]


def _at(sku: str, location: str) -> Any:
    return and_(levels_t.c.sku == sku, levels_t.c.location == location)


class SqlStockLedger:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        # Reservations read in this unit of work: a later change in the same unit starts from
        # them instead of reading again. Only a starting point: every change compare-and-sets
        # the status it saw, and reads afresh when that fails.
        self._known: dict[str, Reservation] = {}

    def forget(self) -> None:
        """The unit of work ended: what it read may be stale now."""
        self._known.clear()

    async def _conn(self) -> AsyncConnection:
        return await self._connections.connection()

    async def _reads(self) -> AsyncConnection:
        return await self._connections.connection(write=False)

    # -- reads -----------------------------------------------------------------------------
    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        wanted = sorted(set(skus))
        if not wanted:
            return []
        lapsed = (
            select(
                lines_t.c.sku,
                lines_t.c.location,
                func.sum(lines_t.c.quantity).label("quantity"),
            )
            .join(res_t, res_t.c.id == lines_t.c.reservation_id)
            .where(
                lines_t.c.sku.in_(wanted),
                lines_t.c.held.is_(True),
                res_t.c.status == ACTIVE,
                res_t.c.expires_at <= now,
            )
            .group_by(lines_t.c.sku, lines_t.c.location)
            .subquery()
        )
        statement = (
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
            .where(levels_t.c.sku.in_(wanted))
            .order_by(levels_t.c.sku, levels_t.c.location)
        )
        connection = await self._reads()
        async with translated():
            rows = (await connection.execute(statement)).mappings().all()
        return [
            StockLevel(
                sku=row["sku"],
                location=row["location"],
                on_hand=int(row["on_hand"]),
                reserved=int(row["reserved"]),
                allocated=int(row["allocated"]),
            )
            for row in rows
        ]

    async def reservation(self, reservation_id: str) -> Reservation | None:
        connection = await self._reads()
        async with translated():
            found = await _load(connection, [reservation_id])
        if not found:
            return None
        self._known[reservation_id] = found[0]
        return found[0]

    async def movements(self, sku: str) -> list[StockMovement]:
        statement = (
            select(stock_movements)
            .where(stock_movements.c.sku == sku)
            .order_by(stock_movements.c.id)
        )
        connection = await self._reads()
        async with translated():
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

    # -- changes ---------------------------------------------------------------------------
    async def receive(self, movement: StockMovement) -> None:
        connection = await self._conn()
        async with translated():
            await _add_on_hand(connection, movement.sku, movement.location, movement.delta)
            await _log(connection, [movement])

    async def adjust(self, movement: StockMovement, now: datetime) -> None:
        connection = await self._conn()
        async with translated():
            if movement.delta > 0:
                await _add_on_hand(connection, movement.sku, movement.location, movement.delta)
            else:
                # What lapsed holds on this row is available again before the check.
                await _give_back(
                    connection,
                    and_(_lines_on([(movement.sku, movement.location)]), _lines_lapsed(now)),
                )
                result = await connection.execute(
                    update(levels_t)
                    .where(
                        _at(movement.sku, movement.location),
                        levels_t.c.on_hand + movement.delta
                        >= levels_t.c.reserved + levels_t.c.allocated,
                    )
                    .values(on_hand=levels_t.c.on_hand + movement.delta)
                )
                if result.rowcount != 1:
                    raise InsufficientStock(
                        f"{movement.sku} at {movement.location} cannot go below what is promised"
                    )
            await _log(connection, [movement])

    async def reserve(self, reservation: Reservation, now: datetime) -> None:
        connection = await self._conn()
        async with translated():
            created = await connection.execute(
                insert_or_skip(connection, res_t).values(
                    id=reservation.id,
                    status=ACTIVE,
                    expires_at=reservation.expires_at,
                    created_at=reservation.created_at,
                )
            )
            if created.rowcount != 1:
                raise AlreadyExists(f"reservation {reservation.id} already exists")
            wanted = _totals(reservation.lines)
            if short := await _take_all(connection, wanted, now, into="reserved"):
                await connection.execute(delete(res_t).where(res_t.c.id == reservation.id))
                raise OutOfStock(short)
            await connection.execute(
                insert(lines_t).values(
                    [
                        {
                            "reservation_id": reservation.id,
                            "sku": sku,
                            "location": location,
                            "position": _first_position(reservation.lines, sku, location),
                            "quantity": quantity,
                            "held": True,
                        }
                        for (sku, location), quantity in wanted
                    ]
                )
            )

    async def release(self, reservation_id: str, now: datetime) -> Reservation:
        return await self._settle(reservation_id, self._release)

    async def allocate(self, reservation_id: str, now: datetime) -> Reservation:
        return await self._settle(
            reservation_id,
            lambda connection, reservation: self._allocate(connection, reservation, now),
            known=self._known.pop(reservation_id, None),
        )

    async def ship(self, reservation_id: str, movement_at: datetime) -> Reservation:
        return await self._settle(
            reservation_id,
            lambda connection, reservation: self._ship(connection, reservation, movement_at),
        )

    async def expire(self, now: datetime, limit: int) -> list[Reservation]:
        connection = await self._conn()
        async with translated():
            due = (
                select(res_t.c.id)
                .where(res_t.c.status == ACTIVE, res_t.c.expires_at <= now)
                .order_by(res_t.c.expires_at, res_t.c.id)
                .limit(limit)
            )
            if connection.dialect.name == "postgresql":
                # Concurrent sweepers split the work instead of queueing on each other's rows.
                due = due.with_for_update(skip_locked=True)
            ids = list((await connection.execute(due)).scalars().all())
            if not ids:
                return []
            moved = await connection.execute(
                update(res_t)
                .where(res_t.c.id.in_(ids), res_t.c.status == ACTIVE)
                .values(status=ReservationStatus.EXPIRED.value)
                .returning(res_t.c.id)
            )
            expired_ids = sorted(moved.scalars().all())
            if not expired_ids:
                return []
            expired = await _load(connection, expired_ids)
            await _give_back(connection, _lines_of(*expired_ids))
            by_due = sorted(expired, key=lambda r: (r.expires_at, r.id))
            return by_due

    async def _settle(
        self, reservation_id: str, step: _Step, *, known: Reservation | None = None
    ) -> Reservation:
        """Apply `step` to the reservation as stored (or as `known` to this unit), reading it
        afresh after each compare-and-set that lost a race, at most MOVE_ATTEMPTS times."""
        connection = await self._conn()
        async with translated():
            for _ in range(MOVE_ATTEMPTS):
                reservation = known or await self._get(connection, reservation_id)
                known = None
                settled = await step(connection, reservation)
                if settled is not None:
                    return settled
        raise TransientConflict(f"reservation {reservation_id} kept moving under this command")

    async def _release(
        self, connection: AsyncConnection, reservation: Reservation
    ) -> Reservation | None:
        if reservation.status is ReservationStatus.ACTIVE:
            released = reservation.moved_to(ReservationStatus.RELEASED)
            if not await _move(connection, reservation.id, ReservationStatus.ACTIVE, released):
                return None
            await _give_back(connection, _lines_of(reservation.id))
            return released
        if reservation.status is ReservationStatus.ALLOCATED:
            deallocated = reservation.moved_to(ReservationStatus.DEALLOCATED)
            if not await _move(
                connection, reservation.id, ReservationStatus.ALLOCATED, deallocated
            ):
                return None
            for (sku, location), quantity in _totals(reservation.lines):
                await _shift(connection, sku, location, allocated=-quantity)
            return deallocated
        if reservation.status is ReservationStatus.SHIPPED:
            reservation.moved_to(ReservationStatus.RELEASED)  # raises IllegalTransition
        return reservation

    async def _allocate(
        self, connection: AsyncConnection, reservation: Reservation, now: datetime
    ) -> Reservation | None:
        if reservation.status is ReservationStatus.ALLOCATED:
            return reservation
        allocated = reservation.moved_to(ReservationStatus.ALLOCATED)
        if not await _move(connection, reservation.id, reservation.status, allocated):
            return None
        lines = _totals(reservation.lines)
        if short := await _take_all(
            connection, lines, now, into="allocated", held_by=reservation.id
        ):
            await _move(connection, reservation.id, ReservationStatus.ALLOCATED, reservation)
            raise OutOfStock(short)
        return allocated

    async def _ship(
        self, connection: AsyncConnection, reservation: Reservation, movement_at: datetime
    ) -> Reservation | None:
        if reservation.status is ReservationStatus.SHIPPED:
            return reservation
        shipped = reservation.moved_to(ReservationStatus.SHIPPED)
        if not await _move(connection, reservation.id, ReservationStatus.ALLOCATED, shipped):
            return None
        for (sku, location), quantity in _totals(reservation.lines):
            await _shift(connection, sku, location, on_hand=-quantity, allocated=-quantity)
        await _log(
            connection,
            [
                StockMovement(
                    sku=line.sku,
                    location=line.location,
                    kind=MovementKind.SHIPPED,
                    delta=-line.quantity,
                    reason=f"shipped for {reservation.id}",
                    at=movement_at,
                )
                for line in reservation.lines
            ],
        )
        return shipped

    async def _get(self, connection: AsyncConnection, reservation_id: str) -> Reservation:
        found = await _load(connection, [reservation_id])
        if not found:
            raise NotFound(f"reservation {reservation_id} not found")
        return found[0]


# -- statements ----------------------------------------------------------------------------
def _totals(lines: Iterable[ReservationLine]) -> list[tuple[tuple[str, str], int]]:
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        wanted[(line.sku, line.location)] += line.quantity
    return sorted(wanted.items())


def _first_position(lines: Sequence[ReservationLine], sku: str, location: str) -> int:
    return next(i for i, line in enumerate(lines) if (line.sku, line.location) == (sku, location))


async def _load(connection: AsyncConnection, ids: Sequence[str]) -> list[Reservation]:
    """The reservations with these ids, in that order, heads and lines in one statement."""
    if not ids:
        return []
    rows = await connection.execute(
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
        .where(res_t.c.id.in_(ids))
        .order_by(res_t.c.id, lines_t.c.position)
    )
    heads: dict[str, Any] = {}
    lines: dict[str, list[ReservationLine]] = defaultdict(list)
    for row in rows:
        heads.setdefault(row.id, row)
        if row.sku is not None:
            lines[row.id].append(
                ReservationLine(sku=row.sku, location=row.location, quantity=int(row.quantity))
            )
    return [
        Reservation(
            id=head.id,
            lines=tuple(lines[head.id]),
            status=ReservationStatus(head.status),
            expires_at=head.expires_at,
            created_at=head.created_at,
        )
        for head in sorted(heads.values(), key=lambda head: ids.index(head.id))
    ]


async def _add_on_hand(connection: AsyncConnection, sku: str, location: str, delta: int) -> None:
    values = {"sku": sku, "location": location, "on_hand": delta, "reserved": 0, "allocated": 0}
    statement = dialect_insert(connection, levels_t).values(values)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[levels_t.c.sku, levels_t.c.location],
            set_={"on_hand": levels_t.c.on_hand + statement.excluded.on_hand},
        )
    )


async def _take_all(
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
    whose = _lines_lapsed(now)
    if held_by is not None:
        whose = or_(_lines_of(held_by), whose)
    unheld = await _mark(connection, and_(_lines_on(keys), whose), held=False)
    freed = defaultdict(int, _totals([line for _, line in unheld]))
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
                    await _shift(connection, sku, location, reserved=-freed[key])
            elif key in held:  # back to held and reserved
                await _mark(connection, and_(_lines_of(held_by or ""), _lines_on([key])), held=True)
                quantity = wanted[key]
                await _shift(connection, sku, location, reserved=quantity, allocated=-quantity)
            else:  # keep only the lapsed holds' release
                await _shift(connection, sku, location, **{into: -wanted[key]})
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


def _lines_of(*reservation_ids: str) -> ColumnElement[bool]:
    return lines_t.c.reservation_id.in_(reservation_ids)


def _lines_on(keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    return tuple_(lines_t.c.sku, lines_t.c.location).in_(keys)


def _lines_lapsed(now: datetime) -> ColumnElement[bool]:
    """Lines of reservations that expired but are still active: no sweep has reached them."""
    lapsed = select(res_t.c.id).where(res_t.c.status == ACTIVE, res_t.c.expires_at <= now)
    return lines_t.c.reservation_id.in_(lapsed)


async def _mark(
    connection: AsyncConnection, which: ColumnElement[bool], *, held: bool
) -> list[tuple[str, ReservationLine]]:
    """Mark the reservation lines `which` selects as held or not, each only if it is not so
    already, and return the lines it changed with their reservations' ids: the caller moves
    exactly those quantities in `reserved`. The one statement that writes `held`; callers
    differ only in the lines they select (`_lines_of`, `_lines_on`, `_lines_lapsed`)."""
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


async def _give_back(connection: AsyncConnection, which: ColumnElement[bool]) -> None:
    """Un-hold the lines `which` selects and take what they held out of `reserved`, one stock
    row at a time in (sku, location) order."""
    unheld = await _mark(connection, which, held=False)
    for (sku, location), quantity in _totals([line for _, line in unheld]):
        await _shift(connection, sku, location, reserved=-quantity)


async def _shift(
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


async def _move(
    connection: AsyncConnection,
    reservation_id: str,
    expected: ReservationStatus,
    target: Reservation,
) -> bool:
    """Compare-and-set the status: only one writer moves a reservation out of a state."""
    result = await connection.execute(
        update(res_t)
        .where(res_t.c.id == reservation_id, res_t.c.status == expected.value)
        .values(status=target.status.value)
    )
    return bool(result.rowcount == 1)


async def _log(connection: AsyncConnection, movements: Sequence[StockMovement]) -> None:
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
