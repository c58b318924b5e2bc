"""What the customers context needs from the outside world."""

from __future__ import annotations

from typing import Protocol

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.customers.model import Customer
from shopcore.customers.sessions import RefreshSession


class PasswordHasher(Protocol):
    """Slow, salted hashing (argon2id in production). Implementations run off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class CustomerRepository(Protocol):
    async def add(self, customer: Customer) -> None:
        """Stage a new customer; AlreadyExists if the email is taken."""
        ...

    async def get(self, customer_id: str) -> Customer | None: ...

    async def get_by_email(self, email: str) -> Customer | None:
        """By normalised (lower-case) email."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: RefreshSession) -> None:
        """Stage a new session; AlreadyExists if its id or token hash is taken."""
        ...

    async def get(self, session_id: str) -> RefreshSession | None: ...

    async def get_by_token_hash(self, token_hash: str) -> RefreshSession | None: ...

    async def family(self, family_id: str) -> list[RefreshSession]:
        """Every session of one login, oldest first."""
        ...

    async def live(self, family_id: str) -> list[RefreshSession]:
        """The family's sessions neither used nor revoked (expired ones included): what a
        revocation must reach, without loading every rotation the login went through."""
        ...

    async def live_of_customer(self, customer_id: str) -> list[RefreshSession]:
        """Every live session of one customer, whatever its family (a password change ends
        them all), oldest first."""
        ...


class CustomersUnitOfWork(UnitOfWork, Protocol):
    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...
