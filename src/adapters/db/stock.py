"""The SQL stock ledger: every change is a conditional statement the database applies
atomically under its row lock, never a read in Python followed by a write.

`stock_levels.reserved` sums the reservation lines still marked `held`. A line of a
reservation that expired is un-held lazily by the next statement that touches its row (or by
the sweeper), so an expired reservation never blocks a sale, and `levels()` leaves such lines
out before that happens. Rows are always locked in (sku, location) order so that concurrent
multi-line reservations cannot deadlock one another: one statement per row in that order, or
one statement for all rows of a reservation that first locks them in that order.

A reservation changes state by compare-and-set of the status it was read with, so of two
units moving it, one wins; the loser reads afresh and tries again, a bounded number of times
(MOVE_ATTEMPTS), and then leaves the retry to the bus as TransientConflict.

On PostgreSQL through asyncpg a reservation's rows are written with the unit's commit, in its
one statement (flush_in_one.py): `reserve` takes the stock at once and stages the rows; a later
step of the unit that reads or moves reservations writes them first.

This module holds what each operation does, step by step; the statements themselves are in
stock_statements.py (changes) and stock_reads.py (reads).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import driver_statements as driver
from adapters.db import stock_postgres, tables
from adapters.db.connections import Connections
from adapters.db.errors import translated
from adapters.db.session import keyed_insert
from adapters.db.stock_reads import load_reservations, read_levels, read_movements
from adapters.db.stock_statements import (
    Lines,
    add_on_hand,
    allocate_and_take,
    first_position,
    give_back,
    log_movements,
    lower_on_hand,
    move_status,
    shift_row,
    take_all,
    totals,
)
from adapters.db.tables import reservation_lines, reservations
from shopcore.inventory.model import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from shopcore.inventory.ports import Move
from shopcore.shared.errors import (
    AlreadyExists,
    InsufficientStock,
    NotFound,
    OutOfStock,
    TransientConflict,
)

ACTIVE = ReservationStatus.ACTIVE.value
lines_t, res_t = reservation_lines, reservations
# Built once, so the driver runs it (driver_statements.py): one row per line, in one trip.
_INSERT_LINES = insert(lines_t)

# A compare-and-set of a reservation's status loses only when another transaction moved the
# reservation between this one's read and its write; the next read (a fresh snapshot under READ
# COMMITTED) sees where it went, so a second attempt settles it in practice. Losing three times
# means something keeps moving it: rather than spin without bound inside this transaction,
# holding its row locks, give up with TransientConflict, which the bus retries as a whole
# command in a fresh unit of work after a backoff.
MOVE_ATTEMPTS = 3
# A change to one reservation as read: where it left the reservation, or None when its
# compare-and-set lost.
_Step = Callable[[AsyncConnection, Reservation], Awaitable[Move | None]]


# The one location of each SKU kept at one location only, as this process's units last saw
# it (`sole_locations`), per database. A take and a read of levels tell how many locations
# keep a SKU; this process's own receipts forget the SKU. Bounded: forgotten all at once when
# full (a SKU forgotten costs one read of its levels).
_SOLE: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
SOLE_KEPT = 100_000


def sole_locations_of(database: Any) -> dict[str, str]:
    """The SKUs known to be kept at one location in `database` (an engine), shared by every
    unit of work of this process on it."""
    found = _SOLE.get(database)
    if found is None:
        found = _SOLE[database] = {}
    return found


async def learn_sole_locations(engine: AsyncEngine) -> int:
    """Fill this process's `sole_locations_of(engine)` from the stock rows, as an API process
    starts: otherwise each SKU's first reservation in the process reads its levels first.
    Up to SOLE_KEPT SKUs; how many it learned."""
    levels = tables.stock_levels
    statement = (
        select(levels.c.sku, func.min(levels.c.location))
        .group_by(levels.c.sku)
        .having(func.count() == 1)
        .limit(SOLE_KEPT)
    )
    async with engine.connect() as connection, translated():
        rows = (await connection.execute(statement)).all()
    sole = sole_locations_of(engine.sync_engine)
    sole.update((sku, location) for sku, location in rows)
    return len(rows)


class SqlStockLedger:
    def __init__(self, connections: Connections, sole: dict[str, str] | None = None) -> None:
        self._connections = connections
        self._sole = {} if sole is None else sole
        # Reservations read in this unit of work: a later change in the same unit starts from
        # them instead of reading again. Only a starting point: every change compare-and-sets
        # the status it saw, and reads afresh when that fails.
        self._known: dict[str, Reservation] = {}
        # The levels a checkout announces, without reading them again: the locations of each
        # SKU as this unit last read them, and the rows its last reservation changed, as the
        # UPDATE that changed them returned them. `levels` answers from these when they cover
        # every location of every SKU asked; any other change in the unit forgets them. (A
        # location another transaction adds to a SKU meanwhile shows in its next announcement,
        # as it would had it been added a moment after this unit's read.)
        self._locations: dict[str, frozenset[str]] = {}
        self._after: dict[tuple[str, str], StockLevel] = {}
        # Reservations taken in this unit whose rows go with its commit (`_take_and_stage`).
        self._staged: list[tuple[Reservation, list[tuple[tuple[str, str], int]]]] = []
        # The reservations this unit of work made, kept past its commits (a reservation's
        # lines never change, only its status): the checkout's completing transaction
        # allocates its own reservation in one statement, with no read (`allocate`).
        self._made: dict[str, Reservation] = {}

    def forget(self) -> None:
        """The unit of work ended: what it read may be stale now."""
        self._learn_locations()
        self._staged.clear()
        self._known.clear()
        self._locations.clear()
        self._after.clear()

    def _changing(self, *, rows_may_appear: bool = False) -> None:
        self._after.clear()
        if rows_may_appear:
            self._locations.clear()

    def sole_locations(self, skus: Sequence[str]) -> dict[str, str]:
        sole = self._sole
        return {sku: sole[sku] for sku in skus if sku in sole}

    def _learn_locations(self) -> None:
        """Keep, for every unit of this process, which SKUs this unit found kept at one
        location (the take counts a SKU's locations, a read of levels lists them)."""
        if not self._locations:
            return
        if len(self._sole) > SOLE_KEPT:
            self._sole.clear()
        for sku, locations in self._locations.items():
            if len(locations) == 1:
                self._sole[sku] = next(iter(locations))
            else:
                self._sole.pop(sku, None)

    async def _conn(self) -> AsyncConnection:
        return await self._connections.connection()

    async def _reads(self) -> AsyncConnection:
        return await self._connections.connection(write=False)

    # -- reads -----------------------------------------------------------------------------
    async def levels(self, skus: Sequence[str], now: datetime) -> list[StockLevel]:
        wanted = sorted(set(skus))
        if not wanted:
            return []
        if known := self._levels_after(wanted):
            return known
        connection = await self._reads()
        async with translated():
            found = await read_levels(connection, wanted, now)
        for sku in wanted:
            self._locations[sku] = frozenset(row.location for row in found if row.sku == sku)
        return found

    def _levels_after(self, wanted: list[str]) -> list[StockLevel]:
        """The levels of `wanted` as this unit's last reservation left them, when it changed
        every row of each of them (a SKU kept at one location, as most are); else []."""
        if not self._after:
            return []
        levels = []
        for sku in wanted:
            locations = self._locations.get(sku)
            if not locations:
                return []
            for location in sorted(locations):
                level = self._after.get((sku, location))
                if level is None:
                    return []
                levels.append(level)
        return levels

    async def reservation(self, reservation_id: str) -> Reservation | None:
        await self._unstage()
        connection = await self._reads()
        async with translated():
            found = await load_reservations(connection, [reservation_id])
        if not found:
            return None
        self._known[reservation_id] = found[0]
        return found[0]

    async def movements(self, sku: str) -> list[StockMovement]:
        connection = await self._reads()
        async with translated():
            return await read_movements(connection, sku)

    # -- changes ---------------------------------------------------------------------------
    async def receive(self, movement: StockMovement) -> None:
        self._changing(rows_may_appear=True)
        self._sole.pop(movement.sku, None)  # it may be kept at one more location now
        connection = await self._conn()
        async with translated():
            await add_on_hand(connection, movement.sku, movement.location, movement.delta)
            await log_movements(connection, [movement])

    async def adjust(self, movement: StockMovement, now: datetime) -> None:
        self._changing(rows_may_appear=True)
        self._sole.pop(movement.sku, None)
        sku, location = movement.sku, movement.location
        connection = await self._conn()
        async with translated():
            if movement.delta > 0:
                await add_on_hand(connection, sku, location, movement.delta)
            else:
                # What lapsed holds on this row is available again before the check.
                await give_back(connection, Lines(lapsed_by=now, on=[(sku, location)]))
                if not await lower_on_hand(connection, sku, location, movement.delta):
                    raise InsufficientStock(f"{sku} at {location} cannot go below what is promised")
            await log_movements(connection, [movement])

    async def reserve(self, reservation: Reservation, now: datetime) -> None:
        await self._unstage()
        self._changing()
        connection = await self._conn()
        wanted = totals(reservation.lines)
        async with translated():
            if self._connections.stages_inserts and stock_postgres.applies(connection):
                await self._take_and_stage(connection, reservation, wanted, now)
                return
            await self._insert(connection, reservation, wanted)
            # The stock rows last: they are what concurrent checkouts of one SKU queue on, and
            # their locks are held from this statement to the commit.
            short = await take_all(
                connection,
                wanted,
                now,
                into="reserved",
                after=self._after,
                locations=self._locations,
            )
            if short:
                await connection.execute(
                    delete(lines_t).where(lines_t.c.reservation_id == reservation.id)
                )
                await connection.execute(delete(res_t).where(res_t.c.id == reservation.id))
                raise OutOfStock(short)

    async def _take_and_stage(
        self,
        connection: AsyncConnection,
        reservation: Reservation,
        wanted: list[tuple[tuple[str, str], int]],
        now: datetime,
    ) -> None:
        """The take now, the reservation's rows with the commit's one statement (`staged`):
        a round trip fewer, and a refused take has no rows to delete. Its id's clash is
        AlreadyExists at the commit then, which rolls the take back with the rest."""
        short = await take_all(
            connection, wanted, now, into="reserved", after=self._after, locations=self._locations
        )
        if short:
            raise OutOfStock(short)
        self._staged.append((reservation, wanted))
        self._made[reservation.id] = reservation

    def staged(self) -> list[tuple[Table, str, list[dict[str, Any]]]]:
        """The rows of the reservations made in this unit and not written yet, for the
        commit's one statement: (table, what they are, rows)."""
        inserts: list[tuple[Table, str, list[dict[str, Any]]]] = []
        for reservation, wanted in self._staged:
            lines = _line_rows(reservation, _lines_of(reservation, wanted))
            inserts.append(
                (res_t, f"reservation {reservation.id}", [_reservation_row(reservation)])
            )
            inserts.append((lines_t, f"lines of {reservation.id}", lines))
        return inserts

    async def insert_staged(self, connection: AsyncConnection) -> None:
        """The staged reservations' rows, one statement each: a commit that is not one
        statement, or a later step of this unit that reads reservations."""
        staged, self._staged = self._staged, []
        for reservation, wanted in staged:
            await self._insert(connection, reservation, wanted)

    async def _unstage(self) -> None:
        if self._staged:
            connection = await self._conn()
            async with translated():
                await self.insert_staged(connection)

    @staticmethod
    async def _insert(
        connection: AsyncConnection,
        reservation: Reservation,
        wanted: list[tuple[tuple[str, str], int]],
    ) -> None:
        """The reservation's row and its lines' (held); AlreadyExists, and nothing written,
        when its id is taken."""
        lines = _lines_of(reservation, wanted)
        if stock_postgres.applies(connection):
            created = await stock_postgres.insert_reservation(connection, reservation, lines)
        else:
            inserted = await driver.run(
                connection, keyed_insert(connection, res_t), _reservation_row(reservation)
            )
            created = inserted.rowcount == 1
            if created:
                await driver.run_many(connection, _INSERT_LINES, _line_rows(reservation, lines))
        if not created:
            raise AlreadyExists(f"reservation {reservation.id} already exists")

    async def release(self, reservation_id: str, now: datetime) -> Move:
        await self._unstage()
        return await self._settle(reservation_id, self._release)

    async def allocate(self, reservation_id: str, now: datetime) -> Move:
        await self._unstage()
        known = self._known.pop(reservation_id, None)
        attempts = MOVE_ATTEMPTS
        if known is None:
            self._changing()
            connection = await self._conn()
            if stock_postgres.applies(connection):
                # The usual case, a checkout's active reservation: moved and read in one
                # statement, no read first (the compare-and-set is the statement's WHERE);
                # the unit's own reservation moved and taken in one.
                async with translated():
                    made = self._made.get(reservation_id)
                    if made is not None:
                        if (move := await self._allocate_made(connection, made, now)) is not None:
                            return move
                    elif active := await stock_postgres.allocate_active(connection, reservation_id):
                        return await self._take_allocated(connection, active, now)
                # Not active (allocated already, lapsed and swept, gone) or a race lost: read
                # it and go on as below, this compare-and-set counted as the first attempt.
                attempts -= 1
        return await self._settle(
            reservation_id,
            lambda connection, reservation: self._allocate(connection, reservation, now),
            known=known,
            attempts=attempts,
        )

    async def ship(self, reservation_id: str, movement_at: datetime) -> Move:
        await self._unstage()
        return await self._settle(
            reservation_id,
            lambda connection, reservation: self._ship(connection, reservation, movement_at),
        )

    async def expire(self, now: datetime, limit: int) -> list[Reservation]:
        await self._unstage()
        self._changing()
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
            expired = await load_reservations(connection, expired_ids)
            await give_back(connection, Lines(of=expired_ids))
            return sorted(expired, key=lambda r: (r.expires_at, r.id))

    # -- one reservation's moves -------------------------------------------------------------
    async def _settle(
        self,
        reservation_id: str,
        step: _Step,
        *,
        known: Reservation | None = None,
        attempts: int = MOVE_ATTEMPTS,
    ) -> Move:
        """Apply `step` to the reservation as stored (or as `known` to this unit), reading it
        afresh after each compare-and-set that lost a race, at most `attempts` times."""
        self._changing()
        connection = await self._conn()
        async with translated():
            for _ in range(attempts):
                reservation = known or await self._get(connection, reservation_id)
                known = None
                if (settled := await step(connection, reservation)) is not None:
                    return settled
        raise TransientConflict(f"reservation {reservation_id} kept moving under this command")

    async def _release(self, connection: AsyncConnection, reservation: Reservation) -> Move | None:
        if reservation.status is ReservationStatus.ACTIVE:
            released = reservation.moved_to(ReservationStatus.RELEASED)
            if not await move_status(
                connection, reservation.id, ReservationStatus.ACTIVE, released.status
            ):
                return None
            await give_back(connection, Lines(of=[reservation.id]))
            return Move(released, moved=True)
        if reservation.status is ReservationStatus.ALLOCATED:
            deallocated = reservation.moved_to(ReservationStatus.DEALLOCATED)
            if not await move_status(
                connection, reservation.id, ReservationStatus.ALLOCATED, deallocated.status
            ):
                return None
            for (sku, location), quantity in totals(reservation.lines):
                await shift_row(connection, sku, location, allocated=-quantity)
            return Move(deallocated, moved=True)
        if reservation.status is ReservationStatus.SHIPPED:
            reservation.moved_to(ReservationStatus.RELEASED)  # raises IllegalTransition
        return Move(reservation, moved=False)

    async def _allocate(
        self, connection: AsyncConnection, reservation: Reservation, now: datetime
    ) -> Move | None:
        if reservation.status is ReservationStatus.ALLOCATED:
            return Move(reservation, moved=False)
        allocated = reservation.moved_to(ReservationStatus.ALLOCATED)
        if not await move_status(connection, reservation.id, reservation.status, allocated.status):
            return None
        return await self._take_allocated(connection, reservation, now)

    async def _take_allocated(
        self, connection: AsyncConnection, reservation: Reservation, now: datetime
    ) -> Move:
        """`reservation`, just moved to allocated from the status it has here: its stock moves
        from reserved to allocated (a lapsed one's only if it is available again; if not, the
        status goes back and OutOfStock)."""
        wanted = totals(reservation.lines)
        held: set[tuple[str, str]] = set()
        short = await take_all(
            connection,
            wanted,
            now,
            into="allocated",
            held_by=reservation.id,
            after=self._after,
            locations=self._locations,
            still_held=held,
        )
        return await self._allocated(connection, reservation, now, short, len(held) < len(wanted))

    @staticmethod
    async def _allocated(
        connection: AsyncConnection,
        reservation: Reservation,
        now: datetime,
        short: list[str],
        some_not_held: bool,
    ) -> Move:
        """The allocation's outcome once its take ran: with a line short, the status goes back
        to the one `reservation` has here, and OutOfStock."""
        allocated = reservation.moved_to(ReservationStatus.ALLOCATED)
        if short:
            await move_status(connection, reservation.id, allocated.status, reservation.status)
            raise OutOfStock(short)
        # A hold that lapsed counted as available (levels() leaves it out) even where its line
        # was still marked held; any line not held any more was taken from what is available.
        lapsed = not reservation.holds_stock(now)
        return Move(allocated, moved=True, available_changed=lapsed or some_not_held)

    async def _allocate_made(
        self, connection: AsyncConnection, made: Reservation, now: datetime
    ) -> Move | None:
        """`_take_allocated` of a reservation this unit made, with the compare-and-set of its
        status (active -> allocated) in the same statement: None when it was not active."""
        wanted = totals(made.lines)
        held: set[tuple[str, str]] = set()
        short = await allocate_and_take(
            connection,
            made.id,
            wanted,
            now,
            after=self._after,
            locations=self._locations,
            still_held=held,
        )
        if short is None:
            return None
        return await self._allocated(connection, made, now, short, len(held) < len(wanted))

    async def _ship(
        self, connection: AsyncConnection, reservation: Reservation, movement_at: datetime
    ) -> Move | None:
        if reservation.status is ReservationStatus.SHIPPED:
            return Move(reservation, moved=False)
        shipped = reservation.moved_to(ReservationStatus.SHIPPED)
        if not await move_status(
            connection, reservation.id, ReservationStatus.ALLOCATED, shipped.status
        ):
            return None
        for (sku, location), quantity in totals(reservation.lines):
            await shift_row(connection, sku, location, on_hand=-quantity, allocated=-quantity)
        await log_movements(
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
        return Move(shipped, moved=True)

    async def _get(self, connection: AsyncConnection, reservation_id: str) -> Reservation:
        found = await load_reservations(connection, [reservation_id])
        if not found:
            raise NotFound(f"reservation {reservation_id} not found")
        return found[0]


# A reservation's lines as stored: ((sku, location), position, quantity).
_Lines = list[tuple[tuple[str, str], int, int]]


def _lines_of(reservation: Reservation, wanted: list[tuple[tuple[str, str], int]]) -> _Lines:
    return [(key, first_position(reservation.lines, *key), quantity) for key, quantity in wanted]


def _reservation_row(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "status": ACTIVE,
        "expires_at": reservation.expires_at,
        "created_at": reservation.created_at,
    }


def _line_rows(reservation: Reservation, lines: _Lines) -> list[dict[str, Any]]:
    return [
        {
            "reservation_id": reservation.id,
            "sku": sku,
            "location": location,
            "position": position,
            "quantity": quantity,
            "held": True,
        }
        for (sku, location), position, quantity in lines
    ]
