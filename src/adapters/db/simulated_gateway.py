"""The simulated card gateway with its books in the shop's database: every API process, and
every restart, talks to one bank, as they would to a real payment provider in test mode.

The tokens and the rules are the memory gateway's (adapters/payments/simulated_bank.py); what
this module adds is where they are kept, and how each idempotency key is answered once across
processes. Each call is one short transaction of the gateway's own, on a connection of its own
(the gateway stands outside the shop, so it never joins a caller's unit of work):

1. claim the key: INSERT its row into simulated_gateway_answers, skipping on conflict. Of two
   calls with one key, the later one's INSERT waits on the earlier one's uncommitted row
   (PostgreSQL) or on its write lock (SQLite's BEGIN IMMEDIATE) and then finds it committed:
   it reads that answer and replays it, having changed nothing;
2. the winner reads the charge, locked (SELECT ... FOR UPDATE; SQLite's one writer at a time
   is lock enough), asks the rules, and writes the charge back if they approved;
3. it stores the answer in the row it claimed, and commits: the charge's change and the answer
   become visible together, or neither does. A call that dies before its commit leaves no
   trace, and the key stays free for the retry.

Two calls with different keys on one charge (two processes capturing it) queue on the charge's
row lock, and the second sees what the first did: exactly one capture succeeds. No call waits
on another in a cycle: each takes at most its key's row and then one charge's row, in that
order. Waits are bounded, as a real gateway's response time is: a lock held past LOCK_WAIT
(a process stopped in the middle of a call), a dropped connection or a server that does not
answer is an outage, PaymentGatewayUnavailable, which the shop already treats as "try again
later". As with a network timeout, the call may have happened anyway; the same key then tells.
An error of the code (a broken rule caught by the tables' checks, a missing table) is not
dressed up as an outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import RowMapping, bindparam, exists, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.db import lone_statements
from adapters.db.disconnects import sqlstate
from adapters.db.engine import autocommit, autocommit_allowed
from adapters.db.session import insert_or_skip
from adapters.db.tables import simulated_gateway_answers as answer_rows
from adapters.db.tables import simulated_gateway_charges as charge_rows
from adapters.payments import simulated_bank as bank
from adapters.payments.simulated_bank import Charge
from shopcore.payments.ports import GatewayResponse
from shopcore.shared.errors import (
    Busy,
    PaymentGatewayUnavailable,
    TransientConflict,
    Unavailable,
)
from shopcore.shared.money import Money

LOCK_WAIT = timedelta(seconds=5)  # a real gateway answers within seconds, or not at all
# SQLSTATEs of an outage: classes connection exception (08), insufficient resources (53) and
# operator intervention (57: the server shutting down, or a backend terminated); a lock wait
# past lock_timeout, a serialization failure and a deadlock.
_OUTAGE_CLASSES = ("08", "53", "57")
_OUTAGE_STATES = {"55P03", "40001", "40P01"}

Act = Callable[[AsyncConnection], Awaitable[GatewayResponse]]


class SqlSimulatedGateway:
    """The PaymentGateway port over `engine`; `charges()` reads the books for tests."""

    def __init__(self, engine: AsyncEngine, *, lock_wait: timedelta = LOCK_WAIT) -> None:
        self._engine = engine
        # PostgreSQL's lock_timeout for one call's transaction (SQLite waits on busy_timeout).
        self._lock_timeout = text(
            f"SET LOCAL lock_timeout = {round(lock_wait / timedelta(milliseconds=1))}"
        )
        # An authorization is one statement: on asyncpg sent to the driver on a connection
        # checked out in one greenlet (lone_statements.py), once per checkout.
        self._lone = lone_statements.for_engine(engine)

    async def authorize(self, amount: Money, token: str, idempotency_key: str) -> GatewayResponse:
        bank.check_up(token)
        if self._engine.dialect.name == "postgresql":
            return await self._authorize_at_once(amount, token, idempotency_key)

        async def act(connection: AsyncConnection) -> GatewayResponse:
            reference, charge, response = bank.authorize(amount, token)
            if reference is not None and charge is not None:
                await connection.execute(
                    charge_rows.insert().values(
                        reference=reference,
                        amount=charge.amount.amount,
                        currency=charge.amount.currency,
                        created_at=_now(),
                        **_ledger(charge),
                    )
                )
            return response

        return await self._once(idempotency_key, act)

    async def _authorize_at_once(
        self, amount: Money, token: str, idempotency_key: str
    ) -> GatewayResponse:
        """An authorization reads no charge, so its answer is known before anything is
        written: on PostgreSQL the key's claim, its answer and the new charge are one
        statement in autocommit (one round trip instead of six). A concurrent call with the
        same key waits on the claim's uncommitted row, finds it and replays its answer, as
        in `_once`; a statement holds no lock past its own end, so no lock_timeout is needed."""
        reference, charge, response = bank.authorize(amount, token)
        values = {
            "key": idempotency_key,
            "now": _now(),
            "approved": response.approved,
            "reference": response.reference,
            "message": response.message,
        }
        if reference is not None and charge is not None:
            statement = _CLAIM_AND_CHARGE
            values |= {"amount": charge.amount.amount, "currency": charge.amount.currency}
            values |= _ledger(charge)
        else:
            statement = _CLAIM
        if self._lone is not None:
            async with _lone_outages():
                claimed = (await self._lone.run(statement, values)).scalars()[0]
            if claimed:
                return response
        async with self._autocommit() as connection:
            if self._lone is None:
                claimed = (await connection.execute(statement, values)).scalar_one()
                if claimed:
                    return response
            return await _first_answer(connection, idempotency_key)

    async def capture(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await self._once(
            idempotency_key,
            self._on_charge(reference, lambda charge: bank.capture(reference, charge, amount)),
        )

    async def void(self, reference: str, idempotency_key: str) -> GatewayResponse:
        return await self._once(
            idempotency_key, self._on_charge(reference, lambda charge: bank.void(reference, charge))
        )

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> GatewayResponse:
        return await self._once(
            idempotency_key,
            self._on_charge(reference, lambda charge: bank.refund(reference, charge, amount)),
        )

    async def lookup(self, idempotency_key: str) -> GatewayResponse | None:
        async with self._transaction() as connection:
            row = (
                await connection.execute(
                    select(answer_rows).where(answer_rows.c.idempotency_key == idempotency_key)
                )
            ).one_or_none()
        if row is None or row.approved is None:  # never asked, or an outage it did not keep
            return None
        return GatewayResponse(approved=row.approved, reference=row.reference, message=row.message)

    async def charges(self) -> dict[str, Charge]:
        """Every charge the bank holds, by reference: what the memory gateway's `charges`
        attribute shows, for tests that check the shop's books against the bank's."""
        async with self._transaction() as connection:
            rows = await connection.execute(select(charge_rows).order_by(charge_rows.c.reference))
            return {row["reference"]: _charge(row) for row in rows.mappings()}

    # One call ----------------------------------------------------------------------------

    async def _once(self, key: str, act: Act) -> GatewayResponse:
        async with self._transaction() as connection:
            claimed = await connection.execute(
                insert_or_skip(connection, answer_rows).values(
                    idempotency_key=key, created_at=_now()
                )
            )
            if claimed.rowcount != 1:
                return await _first_answer(connection, key)
            response = await act(connection)
            await connection.execute(
                update(answer_rows)
                .where(answer_rows.c.idempotency_key == key)
                .values(
                    approved=response.approved,
                    reference=response.reference,
                    message=response.message,
                )
            )
            return response

    def _on_charge(self, reference: str, rule: Callable[[Charge | None], GatewayResponse]) -> Act:
        """A call on an existing charge: read it locked, ask the rule, store what it changed."""

        async def act(connection: AsyncConnection) -> GatewayResponse:
            row = (
                (
                    await connection.execute(
                        select(charge_rows)
                        .where(charge_rows.c.reference == reference)
                        .with_for_update()
                    )
                )
                .mappings()
                .one_or_none()
            )
            charge = None if row is None else _charge(row)
            response = rule(charge)
            if response.approved and charge is not None:
                await connection.execute(
                    update(charge_rows)
                    .where(charge_rows.c.reference == reference)
                    .values(**_ledger(charge))
                )
            return response

        return act

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction of the gateway's own; a database fault is the gateway's outage."""
        async with _outages(), self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(self._lock_timeout)
            yield connection

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose every statement commits by itself (behind a transaction pooler,
        a transaction committed at the end: each use is one statement and a read of it)."""
        if not autocommit_allowed(self._engine):
            async with _outages(), self._engine.begin() as connection:
                yield connection
            return
        async with _outages(), autocommit(self._engine).connect() as connection:
            yield connection


@asynccontextmanager
async def _lone_outages() -> AsyncIterator[None]:
    """`_outages` for a statement sent to asyncpg itself (lone_statements.py): its errors
    arrive translated already, or as asyncpg's own when no translation applies."""
    try:
        yield
    except (TransientConflict, Busy, Unavailable) as error:
        raise _unavailable() from error
    except asyncpg.PostgresError as error:
        if _outage_state(error):
            raise _unavailable() from error
        raise


@asynccontextmanager
async def _outages() -> AsyncIterator[None]:
    """A database fault is the gateway's outage; an error of the code is not dressed up so."""
    try:
        yield
    except DBAPIError as error:
        if not _is_outage(error):
            raise  # a bug (a broken rule caught by the tables' checks, a missing table)
        raise _unavailable() from error
    except (PoolTimeout, OSError) as error:
        raise _unavailable() from error


def _claim() -> Any:
    """The claim of a key with its answer, skipped when the key was claimed before."""
    return (
        postgresql.insert(answer_rows)
        .values(
            idempotency_key=bindparam("key"),
            created_at=bindparam("now"),
            approved=bindparam("approved"),
            reference=bindparam("reference"),
            message=bindparam("message"),
        )
        .on_conflict_do_nothing()
        .returning(answer_rows.c.idempotency_key)
        .cte("answer")
    )


def _claim_statement() -> Any:
    answer = _claim()
    return select(exists(select(answer.c.idempotency_key)))


def _claim_and_charge_statement() -> Any:
    """The claim, and the new charge only if the claim went through."""
    answer = _claim()
    new_charge = (
        charge_rows.insert()
        .from_select(
            ["reference", "amount", "currency", "captured", "refunded", "voided", "created_at"],
            select(
                bindparam("reference", type_=charge_rows.c.reference.type),
                bindparam("amount", type_=charge_rows.c.amount.type),
                bindparam("currency", type_=charge_rows.c.currency.type),
                bindparam("captured", type_=charge_rows.c.captured.type),
                bindparam("refunded", type_=charge_rows.c.refunded.type),
                bindparam("voided", type_=charge_rows.c.voided.type),
                bindparam("now", type_=charge_rows.c.created_at.type),
            ).where(exists(select(answer.c.idempotency_key))),
        )
        .returning(charge_rows.c.reference)
        .cte("charge")
    )
    return select(exists(select(answer.c.idempotency_key)), exists(select(new_charge.c.reference)))


_CLAIM = _claim_statement()
_CLAIM_AND_CHARGE = _claim_and_charge_statement()


def _is_outage(error: DBAPIError) -> bool:
    """A fault of the database's, not of the code: the connection, the server, or a wait."""
    if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
        return True
    return _outage_state(error)


def _outage_state(error: BaseException) -> bool:
    """Whether the error's SQLSTATE is the server's fault, or a wait (SQLAlchemy's or asyncpg's)."""
    state = sqlstate(error) or ""
    return state[:2] in _OUTAGE_CLASSES or state in _OUTAGE_STATES


def _unavailable() -> PaymentGatewayUnavailable:
    return PaymentGatewayUnavailable(
        "the simulated gateway's database did not answer; retry with the same key"
    )


async def _first_answer(connection: AsyncConnection, key: str) -> GatewayResponse:
    row = (
        await connection.execute(select(answer_rows).where(answer_rows.c.idempotency_key == key))
    ).one()
    return GatewayResponse(approved=row.approved, reference=row.reference, message=row.message)


def _now() -> datetime:
    return datetime.now(UTC)  # the bank's own clock, not the shop's


def _charge(row: RowMapping) -> Charge:
    return Charge(
        amount=Money(row["amount"], row["currency"]),
        captured=row["captured"],
        refunded=row["refunded"],
        voided=row["voided"],
    )


def _ledger(charge: Charge) -> dict[str, object]:
    """The columns a call may change."""
    return {"captured": charge.captured, "refunded": charge.refunded, "voided": charge.voided}
