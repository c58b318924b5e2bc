"""The stock ledger's statements that PostgreSQL, through asyncpg, runs in one round trip
where other connections need two (stock_statements.py and stock.py have the two-statement
way, and say what each operation does). Both are on every checkout's path.

`take_in_one`, the take (`take_all`): data-modifying CTEs un-hold the lines (of `held_by`,
and of reservations that lapsed without a sweep) on the rows taken from, total what that
frees per row, lock the stock rows in (sku, location) order and apply each row's change under
the condition that its available stock stays >= 0; the statement hands back both the rows
changed and the lines un-held, as the two statements did. It runs twice per checkout
(reserving, then allocating). Under one snapshot, as the two statements had in one
transaction: a line another transaction un-holds first is skipped here once it commits (its
`held` is re-checked under the row lock), so what lapsed is given back once.

`insert_reservation`: the reservation's row and its lines' rows, the lines only when the
reservation's id was free; where a unit's commit is not one statement (flush_in_one.py), which
otherwise writes them (SqlStockLedger.staged).

`allocate_and_take`: a reservation the unit of work made itself (its lines known) moved to
allocated (compare-and-set of its status) and taken into allocated in one statement: the
completing transaction of a checkout allocates in one round trip.

`allocate_active`: any other active reservation moved to allocated and read, lines included,
in one statement, before its take: no reservation is read before it is allocated.

asyncpg prepares each SQL text once per connection. The reservation's statement takes its
rows as arrays, one text whatever their number; the take's text is one per number of rows up
to `VALUES_UP_TO` (why: at `VALUES_UP_TO`), and arrays beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import driver_statements as driver
from shopcore.inventory.model import Reservation, ReservationLine, ReservationStatus

# `{wanted}` is the rows to take from: a VALUES list of exactly that many rows (`_values`), or
# arrays unnested (`_UNNEST`) for more rows than `VALUES_UP_TO`. `$1` is the reservation
# whose own lines are un-held, `$2` the time before which an active reservation has lapsed.
_TAKE = f"""
WITH wanted AS (
    {{wanted}}
), unheld AS (
    UPDATE reservation_lines AS l SET held = false
    FROM wanted AS w
    WHERE l.sku = w.sku AND l.location = w.location AND l.held
      AND (l.reservation_id = $1 OR l.reservation_id IN (
          SELECT r.id FROM reservations AS r
          WHERE r.status = '{ReservationStatus.ACTIVE.value}' AND r.expires_at <= $2))
    RETURNING l.reservation_id, l.sku, l.location, l.quantity
), freed AS (
    SELECT sku, location, sum(quantity)::bigint AS quantity FROM unheld GROUP BY sku, location
), locked AS (
    SELECT s.sku, s.location FROM stock_levels AS s JOIN wanted AS w
        ON s.sku = w.sku AND s.location = w.location
    ORDER BY s.sku, s.location FOR UPDATE OF s
), taken AS (
    UPDATE stock_levels AS s
    SET reserved = s.reserved + w.d_reserved - coalesce(f.quantity, 0),
        allocated = s.allocated + w.d_allocated
    FROM wanted AS w LEFT JOIN freed AS f ON f.sku = w.sku AND f.location = w.location
    WHERE s.sku = w.sku AND s.location = w.location
      AND (s.sku, s.location) IN (SELECT sku, location FROM locked)
      AND s.on_hand - s.reserved - s.allocated
          >= w.d_reserved + w.d_allocated - coalesce(f.quantity, 0)
    RETURNING s.sku, s.location, s.on_hand, s.reserved, s.allocated,
        (SELECT count(*) FROM stock_levels AS o WHERE o.sku = s.sku) AS kept_at
)
SELECT NULL::varchar AS owner, sku, location, on_hand, reserved, allocated, kept_at FROM taken
UNION ALL
SELECT reservation_id, sku, location, quantity, NULL, NULL, NULL FROM unheld
"""
_COLUMNS = "AS w (sku, location, d_reserved, d_allocated)"
_UNNEST = (
    f"SELECT * FROM unnest($3::varchar[], $4::varchar[], $5::bigint[], $6::bigint[]) {_COLUMNS}"
)
# Up to this many rows the take is one VALUES list, one statement per number of rows. Over
# arrays PostgreSQL plans the statement anew at every call (about 0.4 ms here, twice a
# checkout): a custom plan knows how many elements the arrays hold, its generic plan guesses
# 100 rows, costs more and so is never chosen. A VALUES list of n rows is n rows in both
# plans, so after its first five calls on a connection the generic plan is kept (about 0.01 ms
# to bind). A cart holds at most 50 lines: the longest ones take over arrays.
VALUES_UP_TO = 16


def _values(count: int) -> str:
    first = [4 * k + 3 for k in range(count)]  # each row's first parameter
    rows = ", ".join(
        f"(${n}::varchar, ${n + 1}::varchar, ${n + 2}::bigint, ${n + 3}::bigint)" for n in first
    )
    return f"SELECT * FROM (VALUES {rows}) {_COLUMNS}"


_TAKES = {count: _TAKE.format(wanted=_values(count)) for count in range(1, VALUES_UP_TO + 1)}
_TAKE_ARRAYS = _TAKE.format(wanted=_UNNEST)

# The allocation of an active reservation ($1) and its take, one statement: the take runs only
# when the compare-and-set of the status did (`wanted` is empty otherwise, so nothing else
# changes), and a row `_MOVED` says it did. The lines are the take's own VALUES list, as
# the caller knows them: taken from the reservation inside the statement, PostgreSQL's generic
# plan could not size them and un-held them through a scan of every reservation line (tried:
# 2.4 ms a call). A one-time filter keeps the VALUES list's row count in the plan.
_MOVED = ""  # no reservation has an empty id
_ALLOCATING_HEAD = f"""
WITH moved AS (
    UPDATE reservations SET status = '{ReservationStatus.ALLOCATED.value}'
    WHERE id = $1 AND status = '{ReservationStatus.ACTIVE.value}'
    RETURNING id
), wanted AS (
    SELECT w.* FROM ({{wanted}}) AS w WHERE EXISTS (SELECT FROM moved)
)"""
_ALLOCATING_TEMPLATE = (
    _TAKE.replace("\nWITH wanted AS (\n    {wanted}\n)", _ALLOCATING_HEAD, 1)
    + f"UNION ALL\nSELECT '{_MOVED}', NULL, NULL, NULL, NULL, NULL, NULL FROM moved\n"
)
_ALLOCATINGS = {
    count: _ALLOCATING_TEMPLATE.format(wanted=_values(count))
    for count in range(1, VALUES_UP_TO + 1)
}
_ALLOCATING = _ALLOCATING_TEMPLATE.format(wanted=_UNNEST)


# A stock row as the take left it: sku, location, on_hand, reserved, allocated and how many
# locations keep the SKU.
TakenRow = tuple[str, str, int, int, int, int]


def applies(connection: AsyncConnection) -> bool:
    """Whether this connection takes in one statement: PostgreSQL through asyncpg itself."""
    return connection.dialect.name == "postgresql" and driver.on_driver(connection)


async def take_in_one(
    connection: AsyncConnection,
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
    *,
    into: str,
    held_by: str | None,
) -> tuple[list[TakenRow], list[tuple[str, ReservationLine]]]:
    """The rows changed, and the lines un-held with their reservations' ids."""
    sql, arguments = _take(lines, now, into=into, held_by=held_by, texts=(_TAKES, _TAKE_ARRAYS))
    _, taken, unheld = _parted(await driver.fetch(connection, sql, arguments))
    return taken, unheld


async def allocate_and_take(
    connection: AsyncConnection,
    reservation_id: str,
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
) -> tuple[bool, list[TakenRow], list[tuple[str, ReservationLine]]]:
    """Move the reservation from active to allocated and take its `lines` into allocated, in
    one statement: whether it was active (if not, nothing changed), the rows changed and the
    lines un-held. `lines` are the reservation's own, known to the caller: see `_ALLOCATING`."""
    sql, arguments = _take(
        lines, now, into="allocated", held_by=reservation_id, texts=(_ALLOCATINGS, _ALLOCATING)
    )
    return _parted(await driver.fetch(connection, sql, arguments))


def _take(
    lines: Sequence[tuple[tuple[str, str], int]],
    now: datetime,
    *,
    into: str,
    held_by: str | None,
    texts: tuple[dict[int, str], str],
) -> tuple[str, list[Any]]:
    into_reserved = into == "reserved"
    by_count, over_arrays = texts
    arguments: list[Any] = [held_by, now]
    if len(lines) <= VALUES_UP_TO:
        for (sku, location), quantity in lines:
            arguments += [sku, location, *((quantity, 0) if into_reserved else (0, quantity))]
        return by_count[len(lines)], arguments
    arguments += [
        [sku for (sku, _), _ in lines],
        [location for (_, location), _ in lines],
        [quantity if into_reserved else 0 for _, quantity in lines],
        [0 if into_reserved else quantity for _, quantity in lines],
    ]
    return over_arrays, arguments


def _parted(
    records: Sequence[Any],
) -> tuple[bool, list[TakenRow], list[tuple[str, ReservationLine]]]:
    moved = False
    taken: list[TakenRow] = []
    unheld: list[tuple[str, ReservationLine]] = []
    for owner, sku, location, number, reserved, allocated, kept_at in records:
        if owner is None:
            taken.append((sku, location, number, reserved, allocated, kept_at))
        elif owner == _MOVED:
            moved = True
        else:
            line = ReservationLine(sku=sku, location=location, quantity=int(number))
            unheld.append((owner, line))
    return moved, taken, unheld


_INSERT = """
WITH reservation AS (
    INSERT INTO reservations (id, status, expires_at, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING
    RETURNING id
)
INSERT INTO reservation_lines (reservation_id, sku, location, position, quantity, held)
SELECT reservation.id, l.sku, l.location, l.position, l.quantity, true
FROM reservation, unnest($5::varchar[], $6::varchar[], $7::int[], $8::bigint[])
    AS l (sku, location, position, quantity)
RETURNING reservation_id
"""


async def insert_reservation(
    connection: AsyncConnection,
    reservation: Reservation,
    lines: Sequence[tuple[tuple[str, str], int, int]],
) -> bool:
    """Insert `reservation` (active) with `lines` ((sku, location), position, quantity):
    whether its id was free (else nothing is written)."""
    written = await driver.fetch(
        connection,
        _INSERT,
        [
            reservation.id,
            ReservationStatus.ACTIVE.value,
            reservation.expires_at,
            reservation.created_at,
            [sku for (sku, _), _, _ in lines],
            [location for (_, location), _, _ in lines],
            [position for _, position, _ in lines],
            [quantity for _, _, quantity in lines],
        ],
    )
    return bool(written)


_ALLOCATE = f"""
UPDATE reservations SET status = '{ReservationStatus.ALLOCATED.value}'
WHERE reservations.id = $1 AND reservations.status = '{ReservationStatus.ACTIVE.value}'
RETURNING reservations.expires_at, reservations.created_at,
    ARRAY(SELECT l.sku FROM reservation_lines AS l
          WHERE l.reservation_id = reservations.id ORDER BY l.position) AS skus,
    ARRAY(SELECT l.location FROM reservation_lines AS l
          WHERE l.reservation_id = reservations.id ORDER BY l.position) AS locations,
    ARRAY(SELECT l.quantity FROM reservation_lines AS l
          WHERE l.reservation_id = reservations.id ORDER BY l.position) AS quantities
"""


async def allocate_active(connection: AsyncConnection, reservation_id: str) -> Reservation | None:
    """Move the reservation from active to allocated, and give it back as it was (active);
    None when it is not active (or does not exist): nothing was changed then."""
    found = await driver.fetch(connection, _ALLOCATE, [reservation_id])
    if not found:
        return None
    expires_at, created_at, skus, locations, quantities = found[0]
    return Reservation(
        id=reservation_id,
        lines=tuple(
            ReservationLine(sku=sku, location=location, quantity=int(quantity))
            for sku, location, quantity in zip(skus, locations, quantities, strict=True)
        ),
        status=ReservationStatus.ACTIVE,
        expires_at=expires_at,
        created_at=created_at,
    )
