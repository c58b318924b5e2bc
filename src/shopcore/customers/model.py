"""Customers and staff: identity, credentials (hashed only) and an address book."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shopcore.customers.events import CustomerPromoted, CustomerRegistered
from shopcore.shared.address import Address
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import InvalidInput

MAX_ADDRESSES = 20
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned) or _has_invisible(cleaned):
        raise InvalidInput("email is not a valid address")
    return cleaned


def _has_invisible(text: str) -> bool:
    # Control, format (zero-width, bidi overrides), surrogate and unassigned characters: a NUL
    # would break PostgreSQL, the others make addresses that look like someone else's.
    return any(unicodedata.category(ch).startswith("C") for ch in text)


@dataclass(kw_only=True)
class Customer(Aggregate):
    id: str
    email: str
    password_hash: str = field(repr=False)
    role: Role
    name: str
    addresses: list[Address]
    created_at: datetime

    @classmethod
    def register(
        cls, *, id: str, email: str, password_hash: str, name: str, role: Role, now: datetime
    ) -> Customer:
        customer = cls(
            id=id,
            email=normalize_email(email),
            password_hash=password_hash,
            role=role,
            name=name,
            addresses=[],
            created_at=now,
        )
        customer.record(CustomerRegistered(customer_id=id, role=role))
        return customer

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF

    def promote_to_staff(self) -> None:
        if self.role is not Role.STAFF:
            self.role = Role.STAFF
            self.record(CustomerPromoted(customer_id=self.id))

    def add_address(self, address: Address) -> None:
        if len(self.addresses) >= MAX_ADDRESSES:
            raise InvalidInput(f"an address book holds at most {MAX_ADDRESSES} addresses")
        self.addresses.append(address.checked())

    def rehash(self, password_hash: str) -> None:
        """The same password under stronger hashing parameters."""
        self.password_hash = password_hash

    def change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash
