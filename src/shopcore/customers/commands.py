"""Requests about customers. Passwords live only in commands, never in events or models."""

from __future__ import annotations

import msgspec

from shopcore.customers.model import Customer
from shopcore.customers.sessions import SessionGrant
from shopcore.shared.address import Address
from shopcore.shared.ids import new_id
from shopcore.shared.messages import Command


class RegisterCustomer(Command[Customer], frozen=True, kw_only=True):
    """Open a customer account; the password must pass the shop's policy."""

    email: str
    password: str
    name: str = ""
    customer_id: str = msgspec.field(default_factory=new_id)

    def __repr__(self) -> str:
        return f"RegisterCustomer(email={self.email!r}, customer_id={self.customer_id!r})"


class Authenticate(Command[Customer], frozen=True, kw_only=True):
    """The account these credentials belong to; one error for every mismatch."""

    email: str
    password: str

    def __repr__(self) -> str:
        return f"Authenticate(email={self.email!r})"


class EnsureStaff(Command[Customer], frozen=True, kw_only=True):
    """Create a staff account, or promote the existing account with that email (idempotent)."""

    email: str
    password: str
    name: str = ""

    def __repr__(self) -> str:
        return f"EnsureStaff(email={self.email!r})"


class AddAddress(Command[Customer], frozen=True, kw_only=True):
    """Add an address to the customer's address book."""

    customer_id: str
    address: Address


class ChangePassword(Command[None], frozen=True, kw_only=True):
    """Set a new password, proving the current one: every login of the account ends with it."""

    customer_id: str
    current_password: str
    new_password: str

    def __repr__(self) -> str:
        return f"ChangePassword(customer_id={self.customer_id!r})"


class StartSession(Command[SessionGrant], frozen=True, kw_only=True):
    """Open a refresh session for a customer who has just authenticated."""

    customer_id: str


class RotateSession(Command[SessionGrant], frozen=True, kw_only=True):
    """Trade a refresh token for its successor; a spent token revokes its whole family."""

    refresh_token: str

    def __repr__(self) -> str:
        return "RotateSession(refresh_token=<redacted>)"


class EndSession(Command[None], frozen=True, kw_only=True):
    """Log out: the token's family is revoked. Unknown or dead tokens are fine (idempotent)."""

    refresh_token: str

    def __repr__(self) -> str:
        return "EndSession(refresh_token=<redacted>)"
