"""The SQL stock ledger never loops without bound on a lost race: a change whose
compare-and-set of the reservation's status keeps failing reads afresh and tries again at most
MOVE_ATTEMPTS times, then gives up with TransientConflict, which the bus answers by running the
whole command again in a fresh unit of work.

A trigger plays the rival transactions: it makes the database skip the status UPDATE (rowcount
0, what a rival's commit between our read and our write causes) a given number of times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db.stock import MOVE_ATTEMPTS
from adapters.db.unit_of_work import SqlUnitOfWork
from shopcore.inventory.model import Reservation, ReservationStatus
from shopcore.shared.errors import TransientConflict
from tests.contracts import builders as b
from tests.support.databases import empty_postgres, fresh_sqlite

NOW = b.START
LATER = NOW + timedelta(minutes=1)

RIVALS = {
    "sqlite": (
        [
            "CREATE TABLE lost_races (remaining INTEGER NOT NULL)",
            """CREATE TRIGGER lose_a_race BEFORE UPDATE OF status ON reservations
               WHEN (SELECT remaining FROM lost_races) > 0
               BEGIN
                 UPDATE lost_races SET remaining = remaining - 1;
                 SELECT RAISE(IGNORE);
               END""",
        ],
        ["DROP TRIGGER lose_a_race", "DROP TABLE lost_races"],
    ),
    "postgres": (
        [
            "CREATE TABLE lost_races (remaining INTEGER NOT NULL)",
            """CREATE FUNCTION lose_a_race() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 UPDATE lost_races SET remaining = remaining - 1 WHERE remaining > 0;
                 IF FOUND THEN RETURN NULL; END IF;
                 RETURN NEW;
               END $$""",
            """CREATE TRIGGER lose_a_race BEFORE UPDATE OF status ON reservations
               FOR EACH ROW EXECUTE FUNCTION lose_a_race()""",
        ],
        [
            "DROP TRIGGER lose_a_race ON reservations",
            "DROP FUNCTION lose_a_race()",
            "DROP TABLE lost_races",
        ],
    ),
}


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        created = await fresh_sqlite(request.getfixturevalue("tmp_path"))
    else:
        created = await empty_postgres(request.getfixturevalue("postgres_url"), pool_size=2)
    install, remove = RIVALS[request.param]
    async with created.begin() as connection:
        for statement in install:
            await connection.execute(text(statement))
        await connection.execute(text("INSERT INTO lost_races (remaining) VALUES (0)"))
    try:
        yield created
    finally:
        # The PostgreSQL database outlives this test: leave it without the rivals.
        async with created.begin() as connection:
            for statement in remove:
                await connection.execute(text(statement))
        await created.dispose()


async def rivals_win(engine: AsyncEngine, times: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE lost_races SET remaining = :n"), {"n": times})


async def in_unit(engine: AsyncEngine, step: Callable[[SqlUnitOfWork], Any]) -> Any:
    async with SqlUnitOfWork(engine, now=lambda: NOW) as uow:
        result = await step(uow)
        await uow.commit()
    return result


async def reservation_of(engine: AsyncEngine, status: ReservationStatus) -> Reservation:
    reservation = b.reservation([("RACE-1", 2)], now=NOW)
    await in_unit(engine, lambda uow: uow.stock.receive(b.movement("RACE-1", 5, at=NOW)))
    await in_unit(engine, lambda uow: uow.stock.reserve(reservation, NOW))
    if status is ReservationStatus.ALLOCATED:
        await in_unit(engine, lambda uow: uow.stock.allocate(reservation.id, NOW))
    return reservation


def compare_and_sets(engine: AsyncEngine) -> list[str]:
    """Every status UPDATE the engine sends from now on (the list fills as they go): through
    SQLAlchemy, and on PostgreSQL to asyncpg itself (driver_statements.py), whose query
    logger sees what SQLAlchemy's events do not."""
    sent: list[str] = []

    def keep(statement: str) -> None:
        if " ".join(statement.split()).startswith("UPDATE reservations SET status"):
            sent.append(statement)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        keep(statement)

    def logged(query: Any) -> None:
        keep(query.query)

    def watch(dbapi_connection: Any, *args: Any) -> None:
        if engine.dialect.driver == "asyncpg":
            dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(engine.sync_engine, "checkout", watch)
    return sent


CHANGES = {
    "release": (ReservationStatus.ACTIVE, ReservationStatus.RELEASED),
    "allocate": (ReservationStatus.ACTIVE, ReservationStatus.ALLOCATED),
    "ship": (ReservationStatus.ALLOCATED, ReservationStatus.SHIPPED),
}


def change(name: str, reservation_id: str) -> Callable[[SqlUnitOfWork], Any]:
    return lambda uow: getattr(uow.stock, name)(reservation_id, LATER)


async def status_of(engine: AsyncEngine, reservation_id: str) -> ReservationStatus:
    found = await in_unit(engine, lambda uow: uow.stock.reservation(reservation_id))
    return found.status  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(CHANGES))
async def test_a_change_that_keeps_losing_the_race_gives_up_with_transient_conflict(
    engine: AsyncEngine, name: str
) -> None:
    before, _ = CHANGES[name]
    reservation = await reservation_of(engine, before)
    levels = await in_unit(engine, lambda uow: uow.stock.levels(["RACE-1"], LATER))
    await rivals_win(engine, times=1_000)
    sent = compare_and_sets(engine)

    with pytest.raises(TransientConflict):
        await in_unit(engine, change(name, reservation.id))

    assert len(sent) == MOVE_ATTEMPTS
    assert await status_of(engine, reservation.id) is before
    assert await in_unit(engine, lambda uow: uow.stock.levels(["RACE-1"], LATER)) == levels


@pytest.mark.parametrize("name", sorted(CHANGES))
async def test_a_change_that_loses_fewer_races_than_its_attempts_lands(
    engine: AsyncEngine, name: str
) -> None:
    _, after = CHANGES[name]
    reservation = await reservation_of(engine, CHANGES[name][0])
    await rivals_win(engine, times=MOVE_ATTEMPTS - 1)
    sent = compare_and_sets(engine)

    changed = await in_unit(engine, change(name, reservation.id))

    assert changed.moved and changed.reservation.status is after
    assert len(sent) == MOVE_ATTEMPTS
    assert await status_of(engine, reservation.id) is after
