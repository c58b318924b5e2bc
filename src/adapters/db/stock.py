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

This module holds what each operation does, step by step; the statements themselves are in
stock_statements.py (changes) and stock_reads.py (reads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import driver_statements as driver
from adapters.db import stock_postgres
from adapters.db.connections import Connections
from adapters.db.errors import translated
from adapters.db.session import keyed_insert
from adapters.db.stock_reads import load_reservations, read_levels, read_movements
from adapters.db.stock_statements import (
    Lines,
    add_on_hand,
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


class SqlStockLedger:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections
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

    def forget(self) -> None:
        """The unit of work ended: what it read may be stale now."""
        self._known.clear()
        self._locations.clear()
        self._after.clear()

    def _changing(self, *, rows_may_appear: bool = False) -> None:
        self._after.clear()
        if rows_may_appear:
            self._locations.clear()

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
        connection = await self._conn()
        async with translated():
            await add_on_hand(connection, movement.sku, movement.location, movement.delta)
            await log_movements(connection, [movement])

    async def adjust(self, movement: StockMovement, now: datetime) -> None:
        self._changing(rows_may_appear=True)
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
        self._changing()
        connection = await self._conn()
        wanted = totals(reservation.lines)
        async with translated():
            if not await self._insert(connection, reservation, wanted):
                raise AlreadyExists(f"reservation {reservation.id} already exists")
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

    @staticmethod
    async def _insert(
        connection: AsyncConnection,
        reservation: Reservation,
        wanted: list[tuple[tuple[str, str], int]],
    ) -> bool:
        """The reservation's row and its lines' (held), unless its id is taken: whether it was
        free."""
        lines = [
            (key, first_position(reservation.lines, *key), quantity) for key, quantity in wanted
        ]
        if stock_postgres.applies(connection):
            return await stock_postgres.insert_reservation(connection, reservation, lines)
        created = await driver.run(
            connection,
            keyed_insert(connection, res_t),
            {
                "id": reservation.id,
                "status": ACTIVE,
                "expires_at": reservation.expires_at,
                "created_at": reservation.created_at,
            },
        )
        if created.rowcount != 1:
            return False
        await driver.run_many(
            connection,
            _INSERT_LINES,
            [
                {
                    "reservation_id": reservation.id,
                    "sku": sku,
                    "location": location,
                    "position": position,
                    "quantity": quantity,
                    "held": True,
                }
                for (sku, location), position, quantity in lines
            ],
        )
        return True

    async def release(self, reservation_id: str, now: datetime) -> Move:
        return await self._settle(reservation_id, self._release)

    async def allocate(self, reservation_id: str, now: datetime) -> Move:
        known = self._known.pop(reservation_id, None)
        attempts = MOVE_ATTEMPTS
        if known is None:
            self._changing()
            connection = await self._conn()
            if stock_postgres.applies(connection):
                # The usual case, a checkout's active reservation: moved and read in one
                # statement, no read first (the compare-and-set is the statement's WHERE).
                async with translated():
                    active = await stock_postgres.allocate_active(connection, reservation_id)
                    if active is not None:
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
        return await self._settle(
            reservation_id,
            lambda connection, reservation: self._ship(connection, reservation, movement_at),
        )

    async def expire(self, now: datetime, limit: int) -> list[Reservation]:
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
        allocated = reservation.moved_to(ReservationStatus.ALLOCATED)
        wanted = totals(reservation.lines)
        held: set[tuple[str, str]] = set()
        if short := await take_all(
            connection,
            wanted,
            now,
            into="allocated",
            held_by=reservation.id,
            after=self._after,
            locations=self._locations,
            still_held=held,
        ):
            await move_status(connection, reservation.id, allocated.status, reservation.status)
            raise OutOfStock(short)
        # A hold that lapsed counted as available (levels() leaves it out) even where its line
        # was still marked held; any line not held any more was taken from what is available.
        lapsed = not reservation.holds_stock(now)
        return Move(allocated, moved=True, available_changed=lapsed or len(held) < len(wanted))

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
