"""Facts about customers. Events carry ids, not personal data: they travel through streams."""

from __future__ import annotations

from shopcore.shared.messages import Event


class CustomerRegistered(Event, frozen=True, kw_only=True):
    """A new account: a customer's, or staff's from `shopcore create-staff`."""

    customer_id: str
    role: str


class CustomerPromoted(Event, frozen=True, kw_only=True):
    """An existing account was made staff."""

    customer_id: str


class RefreshTokenReused(Event, frozen=True, kw_only=True):
    """A spent refresh token came back: it leaked, and its family was revoked."""

    customer_id: str
    family_id: str


class SessionEnded(Event, frozen=True, kw_only=True):
    """The customer logged out: every refresh token of the login's family was revoked (and
    what else the login holds, its access tokens, ends with it)."""

    customer_id: str
    family_id: str


class PasswordChanged(Event, frozen=True, kw_only=True):
    """The password changed: every login of the account was ended, refresh tokens and access
    tokens alike (whoever knew the old password may hold one). `family_ids`: those logins."""

    customer_id: str
    family_ids: tuple[str, ...]
