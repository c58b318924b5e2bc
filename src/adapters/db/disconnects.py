"""Which database errors mean the connection is gone, and the engine hook that throws it away.

SQLAlchemy invalidates a connection (and, by default, every connection the pool made before it)
when the dialect's `is_disconnect` says so. SQLAlchemy 2.1's asyncpg dialect says so exactly
when asyncpg already marked the connection closed (`is_closed()`), which is the usual case
after `pg_terminate_backend`: asyncpg reports "connection is closed" (`InterfaceError`) or
"connection was closed in the middle of operation" (`ConnectionDoesNotExistError`, SQLSTATE
08003) once it read the end of the stream. It misses the cases where the error arrives before
the end of the stream does, and the ones where the socket is open but the protocol is wrecked:

- SQLSTATE 57P01 admin_shutdown or 57P02 crash_shutdown read before the socket closed (the
  server says goodbye in an ErrorResponse, then hangs up);
- class 08 (connection exception) reported while the socket still looks open;
- asyncpg's "cannot switch to state N; another operation (2) is in progress"
  (`InternalClientError`, no SQLSTATE) and "another operation is in progress"
  (`InterfaceError`): a terminated backend or a cancelled statement left the protocol mid-way.
  MagicStack/asyncpg#1069 reports the first one escaping SQLAlchemy's pre-ping for the same
  reason.

`detect_disconnects` adds those through SQLAlchemy's public `handle_error` hook. A server that
hung up takes the whole pool with it (every pooled connection was opened to the same server,
so the next unit of work gets a fresh one instead of finding the rest dead one at a time); a
wrecked protocol takes only its own connection, since a cancelled request (a client that went
away) must not make every other request reconnect.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

# admin_shutdown (pg_terminate_backend, a fast shutdown) and crash_shutdown (another backend
# crashed and the server restarts); besides these, all of class 08, connection exception. And
# read_only_sql_transaction on a write: after a failover the pooled connections still reach
# the demoted primary, now a standby; thrown away with the pool, the next ones are opened to
# whatever the URL names now, the new primary (a write is never sent to a replica on purpose).
_SERVER_HUNG_UP_STATES = frozenset({"57P01", "57P02", "25006"})
_SERVER_HUNG_UP_TEXT = ("connection is closed", "connection was closed in the middle of operation")
_WRECKED_PROTOCOL_TEXT = ("another operation is in progress", "cannot switch to state")


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error (asyncpg's `sqlstate`, psycopg's `pgcode`), or of the
    driver error a SQLAlchemy `DBAPIError` wraps."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def server_hung_up(error: BaseException) -> bool:
    state = sqlstate(error) or ""
    return (
        state in _SERVER_HUNG_UP_STATES
        or state.startswith("08")
        or any(text in _message(error) for text in _SERVER_HUNG_UP_TEXT)
    )


def protocol_wrecked(error: BaseException) -> bool:
    return any(text in _message(error) for text in _WRECKED_PROTOCOL_TEXT)


def connection_lost(error: BaseException) -> bool:
    """Whether the statement failed because its connection is gone or unusable: nothing it
    began is still open on the server, and a fresh connection may well succeed."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return server_hung_up(error) or protocol_wrecked(error)


def _message(error: BaseException) -> str:
    return str(error.orig if isinstance(error, DBAPIError) else error)


def detect_disconnects(engine: AsyncEngine) -> None:
    """Have `engine` invalidate what the dialect would hand out again: see the module doc."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _classify(context: ExceptionContext) -> None:
        if context.is_disconnect:
            return  # the dialect knew: the pool is invalidated already
        error = context.original_exception
        if server_hung_up(error):
            context.is_disconnect = True
        elif protocol_wrecked(error):
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False
