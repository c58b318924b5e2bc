"""Refresh sessions: the long-lived half of a login, rotated on every use (OWASP).

A login starts a family of sessions. Each refresh marks the presented session used and issues
its successor in the same family, so at most one session of a family is active. A used token
presented again means two parties hold it, one of them a thief: the whole family is revoked.

The opaque token is handed out once and never stored: sessions keep only its SHA-256, which is
enough to find them and useless to whoever reads the table.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shopcore.customers.model import Customer
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import IllegalTransition
from shopcore.shared.ids import new_id

SESSION_TTL = timedelta(days=30)
TOKEN_BYTES = 32  # 256 bits of entropy: a SHA-256 without salt is then safe to store
MAX_TOKEN_LENGTH = 200  # what a presented token may be, before any hashing


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(kw_only=True)
class RefreshSession(Aggregate):
    id: str
    customer_id: str
    family_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def start(
        cls,
        *,
        customer_id: str,
        now: datetime,
        ttl: timedelta,
        family_id: str | None = None,
    ) -> tuple[RefreshSession, str]:
        """A new session (the first of a family unless `family_id` is given) and its token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session_id = new_id()
        session = cls(
            id=session_id,
            customer_id=customer_id,
            family_id=family_id or session_id,
            token_hash=hash_refresh_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
        return session, token

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_active(self, now: datetime) -> bool:
        return not self.is_used and not self.is_revoked and now < self.expires_at

    def use(self, now: datetime) -> None:
        """Spend the session on a rotation; a session is good for exactly one."""
        if not self.is_active(now):
            raise IllegalTransition(f"refresh session {self.id} is no longer active")
        self.used_at = now

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


@dataclass(frozen=True, kw_only=True)
class SessionGrant:
    """What starting or rotating a session hands back: the raw token exists only here."""

    customer: Customer
    session: RefreshSession
    refresh_token: str = field(repr=False)
