"""Refresh-session use cases: start one at login, rotate it on refresh, end it at logout."""

from __future__ import annotations

from datetime import datetime, timedelta

from shopcore.application.bus import CommandTable
from shopcore.customers.commands import EndSession, RotateSession, StartSession
from shopcore.customers.events import RefreshTokenReused, SessionEnded
from shopcore.customers.ports import CustomersUnitOfWork
from shopcore.customers.sessions import (
    MAX_TOKEN_LENGTH,
    RefreshSession,
    SessionGrant,
    hash_refresh_token,
)
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AuthenticationFailed,
    ConcurrencyConflict,
    NotFound,
    TransientConflict,
)


def _rejected() -> AuthenticationFailed:
    # One answer for unknown, expired, revoked and reused tokens: the caller learns nothing.
    return AuthenticationFailed("the refresh token is invalid, expired or revoked")


async def start_session(
    command: StartSession, uow: CustomersUnitOfWork, clock: Clock, session_ttl: timedelta
) -> SessionGrant:
    async with uow:
        customer = await uow.customers.get(command.customer_id)
        if customer is None:
            raise NotFound(f"customer {command.customer_id} not found")
        session, token = RefreshSession.start(
            customer_id=customer.id, now=clock.now(), ttl=session_ttl
        )
        await uow.sessions.add(session)
        await uow.commit()
    return SessionGrant(customer=customer, session=session, refresh_token=token)


async def rotate_session(
    command: RotateSession, uow: CustomersUnitOfWork, clock: Clock, session_ttl: timedelta
) -> SessionGrant:
    now = clock.now()
    async with uow:
        current = await _find(uow, command.refresh_token)
        if current is None:
            raise _rejected()
        if current.is_used:
            await _revoke_family(uow, current.family_id, now)
            uow.emit(
                RefreshTokenReused(customer_id=current.customer_id, family_id=current.family_id)
            )
            await uow.commit()
            raise _rejected()
        customer = await uow.customers.get(current.customer_id)
        if customer is None or not current.is_active(now):
            raise _rejected()
        current.use(now)
        successor, token = RefreshSession.start(
            customer_id=customer.id, now=now, ttl=session_ttl, family_id=current.family_id
        )
        await uow.sessions.add(successor)
        await commit_or_retry(uow)
    return SessionGrant(customer=customer, session=successor, refresh_token=token)


async def end_session(command: EndSession, uow: CustomersUnitOfWork, clock: Clock) -> None:
    async with uow:
        current = await _find(uow, command.refresh_token)
        if current is None:
            return
        await _revoke_family(uow, current.family_id, clock.now())
        uow.emit(SessionEnded(customer_id=current.customer_id, family_id=current.family_id))
        await commit_or_retry(uow)


async def _find(uow: CustomersUnitOfWork, token: str) -> RefreshSession | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await uow.sessions.get_by_token_hash(hash_refresh_token(token))


async def _revoke_family(uow: CustomersUnitOfWork, family_id: str, now: datetime) -> None:
    for session in await uow.sessions.live(family_id):
        session.revoke(now)


async def commit_or_retry(uow: CustomersUnitOfWork) -> None:
    """Another request changed a session first (a rotation, a logout, a password change). Run
    again, via the bus's retry: the fresh attempt sees that change, so a token spent twice at
    the same moment counts as reused, exactly like one spent twice in a row, and a password
    change reaches the session a rotation just started."""
    try:
        await uow.commit()
    except TransientConflict:
        raise
    except ConcurrencyConflict as lost:
        raise TransientConflict("a refresh session changed concurrently") from lost


COMMAND_HANDLERS: CommandTable = {
    StartSession: start_session,
    RotateSession: rotate_session,
    EndSession: end_session,
}
