"""Database errors translated into the core's vocabulary, once, at the adapter boundary.

Every statement the adapters send runs inside `translated()`, so what reaches the core (and the
HTTP layer) is a `ShopError`, never a driver's exception: a lost connection is
`ConnectionLost`, a kind of `TransientConflict` that the bus retries with a fresh unit of work
(and so a fresh connection: disconnects.py has the pool drop the dead ones); a pool with no
connection free in time is `Busy`; both answer 503 with Retry-After when they reach HTTP.

Retrying a command whose connection was lost is a retry like any other, COMMIT included:
- before COMMIT was sent, the server rolled the transaction back with its backend, exactly as
  for a deadlock, which the bus has always retried;
- a COMMIT that fails has an unknown outcome in principle. Under `pg_terminate_backend`, the
  fault this handles, it was not committed: the backend holds interrupts while it writes the
  commit record, so in practice it exits before the record (an error, and a rollback) or after
  sending the acknowledgement. Terminations every 20 ms for 15 s against 4 writers (`python -m
  bench.connection_loss commit-cut`) cut off 249 COMMITs in one run and 189 in another, and none
  of them had committed. Two cases remain where it had: a network that breaks after the commit
  record but before the reply, and a backend terminated while it waits for a synchronous standby
  (PostgreSQL warns "already committed locally"). Then the re-run starts from what the first
  attempt committed: every write is a version-checked UPDATE against the version it read, a
  conditional stock statement, or an INSERT keyed by an id the command carries, so nothing is
  written over blindly and a keyed creation is refused (AlreadyExists) instead of made twice.
  What a re-run cannot tell is whether a relative change it repeats (one more of a cart line)
  was already its own: only a command keyed by its own id, as each step of a saga keyed by its
  order, is safe from that.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.db.disconnects import connection_lost, sqlstate
from shopcore.shared.errors import (
    AlreadyExists,
    Busy,
    ConnectionLost,
    InsufficientStock,
    InvalidInput,
    TransientConflict,
    Unavailable,
)

logger = logging.getLogger("shopcore.db")

# SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available, and a server
# out of connection slots or starting up: all pass if tried again a little later.
_TRANSIENT_STATES = {"40001", "40P01", "55P03", "53300", "57P03"}
# SQLSTATEs of text the database cannot store: a NUL character (PostgreSQL refuses 0x00 in
# any text value), or a character outside the database's encoding. Only a request's input
# carries such text, so it is the request's fault.
_UNSTORABLE_TEXT_STATES = {"22021", "22P05"}
# SQLSTATEs of a database that cannot serve the shop as configured, whatever the request: it
# does not exist, it refuses the credentials, or its schema is behind the code's (a table or
# column missing: `shopcore db upgrade` was not run). An operator must act; 503, not 500.
_MISCONFIGURED_STATES = {"3D000", "28000", "28P01", "42P01", "42703"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def translate(error: DBAPIError) -> Exception:
    message = str(error.orig)
    if connection_lost(error):
        return ConnectionLost(f"the database connection was lost: {message.splitlines()[0]}")
    if isinstance(error, OperationalError) and any(text in message for text in _SQLITE_BUSY):
        return TransientConflict(f"the database asked to retry: {message.splitlines()[0]}")
    if isinstance(error, OperationalError) and message.startswith("no such table"):
        return _unavailable(message)  # SQLite's word for a schema behind the code's
    mapped = translate_state(sqlstate(error), message, integrity=isinstance(error, IntegrityError))
    return error if mapped is None else mapped


def translate_state(state: str | None, message: str, *, integrity: bool) -> Exception | None:
    """The core's error for a database error the server reported on a live connection, by
    its SQLSTATE (and whether it broke an integrity constraint); None: no translation. Shared
    by SQLAlchemy's errors (above) and asyncpg's own (driver_statements.py)."""
    if state in _TRANSIENT_STATES:
        return TransientConflict(f"the database asked to retry: {message.splitlines()[0]}")
    if state in _MISCONFIGURED_STATES:
        return _unavailable(message)
    if state in _UNSTORABLE_TEXT_STATES:
        return InvalidInput("text must not contain NUL characters or characters outside UTF-8")
    if integrity:
        if "available_non_negative" in message or "non_negative" in message:
            # The CHECK constraint caught what no conditional statement should have let by.
            return InsufficientStock("the change would leave stock below zero")
        return AlreadyExists(f"a unique value is taken: {message.splitlines()[0]}")
    return None


def _unavailable(message: str) -> Unavailable:
    # The reason is the operator's (it names databases and tables), not the client's.
    logger.error("the database cannot serve the shop: %s", message.splitlines()[0])
    return Unavailable("the database cannot serve the shop now; retry later")


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Wrap database work, and only that: an OSError inside is taken for the database's
    network."""
    try:
        yield
    except PoolTimeout as error:
        # Every pooled connection stayed busy for the pool's whole timeout: an overload the
        # client should retry later (503), not an internal error.
        raise Busy("no database connection came free in time; retry later") from error
    except DBAPIError as error:
        mapped = translate(error)
        if mapped is error:
            raise
        raise mapped from error
    except PendingRollbackError as error:
        # SQLAlchemy's answer to a statement on a connection invalidated inside a transaction:
        # that transaction died with the connection.
        raise ConnectionLost("the database connection was lost mid-transaction") from error
    except OSError as error:
        # Opening a connection: refused, reset or timed out before the driver had one to
        # report on (SQLAlchemy wraps only the driver's own errors).
        raise ConnectionLost(f"the database could not be reached: {error!r}") from error


@asynccontextmanager
async def lost_connection_ignored() -> AsyncIterator[None]:
    """For clean-up (a rollback, a close), translated: a connection found lost there took its
    transaction with it, so there is nothing left to undo and nothing to report."""
    with contextlib.suppress(ConnectionLost):
        async with translated():
            yield
