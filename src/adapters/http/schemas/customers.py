"""Customer accounts as their owners see them; a password hash never leaves the core."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from adapters.http.schemas.auth import Email, Password
from shopcore.customers.model import Customer
from shopcore.shared.address import Address

Name = Annotated[str, msgspec.Meta(max_length=200, examples=["Ada Lovelace"])]


class Registration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new customer account. The role is always `customer`: there is no field to ask for
    another (staff accounts are made with `shopcore create-staff`)."""

    email: Email
    password: Password
    name: Name = ""


class PasswordChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The current password, asked again so that a stolen access token cannot change it, and
    the new one (the same rules as at registration)."""

    current_password: Password
    new_password: Password


class AddressOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str

    @classmethod
    def of(cls, address: Address) -> AddressOut:
        return cls(
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
        )


class CustomerOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    name: str
    role: str
    addresses: list[AddressOut]
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            email=customer.email,
            name=customer.name,
            role=customer.role.value,
            addresses=[AddressOut.of(address) for address in customer.addresses],
            created_at=customer.created_at,
        )


CUSTOMER_EXAMPLE = {
    "id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "role": "customer",
    "addresses": [],
    "created_at": "2026-03-14T15:09:26.535897Z",
}
