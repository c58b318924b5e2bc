"""Database errors translated into the core's vocabulary, once, at the adapter boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shopcore.shared.errors import AlreadyExists, Busy, InsufficientStock, TransientConflict

# SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available, and a server
# out of connection slots or starting up: all pass if tried again a little later.
_TRANSIENT_STATES = {"40001", "40P01", "55P03", "53300", "57P03"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def translate(error: DBAPIError) -> Exception:
    state = sqlstate(error)
    message = str(error.orig)
    if state in _TRANSIENT_STATES or (
        isinstance(error, OperationalError) and any(text in message for text in _SQLITE_BUSY)
    ):
        return TransientConflict(f"the database asked to retry: {message.splitlines()[0]}")
    if isinstance(error, IntegrityError):
        if "available_non_negative" in message or "non_negative" in message:
            # The CHECK constraint caught what no conditional statement should have let by.
            return InsufficientStock("the change would leave stock below zero")
        return AlreadyExists(f"a unique value is taken: {message.splitlines()[0]}")
    return error


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
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
