"""Which database errors are a lost connection, and what each becomes in the core's terms.

The errors here are built as the driver raises them (a SQLSTATE, a message) and wrapped as
SQLAlchemy wraps them; tests/integration/test_connection_loss.py has the server drop real
connections.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.db.disconnects import connection_lost, protocol_wrecked, server_hung_up
from adapters.db.errors import lost_connection_ignored, translate, translated
from shopcore.shared.errors import AlreadyExists, Busy, ConnectionLost, TransientConflict


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(message: str, sqlstate: str | None = None, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError(
        "SELECT 1", None, DriverError(message, sqlstate), connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    ("message", "state"),
    [
        ("terminating connection due to administrator command", "57P01"),
        ("terminating connection because of crash of another server process", "57P02"),
        ("connection failure", "08006"),
        ("connection was closed in the middle of operation", "08003"),
        # A write on the primary a failover demoted: its connections must all be replaced.
        ("cannot execute UPDATE in a read-only transaction", "25006"),
        ("connection is closed", None),
        ("cannot call PreparedStatement.fetch(): the underlying connection is closed", None),
    ],
)
def test_a_server_that_hung_up_is_a_lost_connection(message: str, state: str | None) -> None:
    error = wrapped(message, state)

    assert server_hung_up(error) and connection_lost(error)
    assert isinstance(translate(error), ConnectionLost)


@pytest.mark.parametrize(
    "message",
    [
        "cannot switch to state 15; another operation (2) is in progress",
        "cannot perform operation: another operation is in progress",
    ],
)
def test_a_wrecked_protocol_is_a_lost_connection_but_not_a_server_gone(message: str) -> None:
    error = wrapped(message)

    assert protocol_wrecked(error) and not server_hung_up(error)
    assert isinstance(translate(error), ConnectionLost)


def test_whatever_sqlalchemy_found_to_be_a_disconnect_is_a_lost_connection() -> None:
    assert isinstance(translate(wrapped("ssl eof", invalidated=True)), ConnectionLost)


def test_a_deadlock_stays_a_plain_transient_conflict() -> None:
    mapped = translate(wrapped("deadlock detected", "40P01"))

    assert isinstance(mapped, TransientConflict) and not isinstance(mapped, ConnectionLost)


def test_a_taken_unique_value_is_still_already_exists() -> None:
    error = IntegrityError("INSERT", None, DriverError("duplicate key value", "23505"))

    assert isinstance(translate(error), AlreadyExists)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionRefusedError(111, "Connection refused"), ConnectionLost),
        (ConnectionError("unexpected connection_lost() call"), ConnectionLost),
        (TimeoutError(), ConnectionLost),
        (
            PendingRollbackError("Can't reconnect until invalid transaction is rolled back"),
            ConnectionLost,
        ),
        (PoolTimeout("QueuePool limit reached"), Busy),
        (wrapped("terminating connection due to administrator command", "57P01"), ConnectionLost),
    ],
)
async def test_translated_turns_database_failures_into_shop_errors(
    raised: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught:
        async with translated():
            raise raised

    assert caught.value.__cause__ is raised


async def test_a_clean_up_that_finds_the_connection_lost_has_nothing_left_to_undo() -> None:
    async with lost_connection_ignored():
        raise wrapped("connection is closed")


async def test_a_clean_up_still_reports_any_other_failure() -> None:
    with pytest.raises(TransientConflict):
        async with lost_connection_ignored():
            raise wrapped("deadlock detected", "40P01")
