"""Customer use cases: registration, authentication, password change, staff accounts, address book.
Refresh sessions have their own module; the context's dispatch table at the bottom holds both."""

from __future__ import annotations

import unicodedata

from shopcore.application.bus import CommandTable
from shopcore.customers.commands import (
    AddAddress,
    Authenticate,
    ChangePassword,
    EnsureStaff,
    RegisterCustomer,
)
from shopcore.customers.events import PasswordChanged
from shopcore.customers.model import Customer, Role, normalize_email
from shopcore.customers.password_policy import MAX_LENGTH, check_password
from shopcore.customers.ports import CustomersUnitOfWork, PasswordHasher
from shopcore.customers.session_handlers import COMMAND_HANDLERS as SESSION_HANDLERS
from shopcore.customers.session_handlers import commit_or_retry
from shopcore.shared import validation
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AlreadyExists,
    AuthenticationFailed,
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    WrongPassword,
)
from shopcore.shared.ids import new_id


async def register_customer(
    command: RegisterCustomer, uow: CustomersUnitOfWork, clock: Clock, hasher: PasswordHasher
) -> Customer:
    email = normalize_email(command.email)
    password = check_password(command.password, email)
    name = validation.text(command.name, "name", min_length=0, max_length=200)
    async with uow:
        if await uow.customers.get_by_email(email) is not None:
            raise AlreadyExists("an account with this email already exists")
    # Hash outside the transaction: it is the slow part and needs no database.
    password_hash = await hasher.hash(password)
    async with uow:
        customer = Customer.register(
            id=command.customer_id,
            email=email,
            password_hash=password_hash,
            name=name,
            role=Role.CUSTOMER,
            now=clock.now(),
        )
        await uow.customers.add(customer)
        await uow.commit()
    return customer


async def authenticate(
    command: Authenticate, uow: CustomersUnitOfWork, hasher: PasswordHasher
) -> Customer:
    """The customer whose credentials these are; one error for every kind of mismatch."""
    failure = AuthenticationFailed("email or password is wrong")
    if len(command.password) > MAX_LENGTH * 4 or len(command.email) > 254:
        raise failure
    customer = None
    if (email := _email_or_none(command.email)) is not None:
        async with uow:
            customer = await uow.customers.get_by_email(email)
    if customer is None:
        # Spend the same time as a real check so response times do not reveal accounts.
        await hasher.hash(command.password)
        raise failure
    password = check_password_form(command.password)
    if not await hasher.verify(customer.password_hash, password):
        raise failure
    if hasher.needs_rehash(customer.password_hash):
        new_hash = await hasher.hash(password)
        async with uow:
            fresh = await uow.customers.get(customer.id)
            if fresh is not None:
                fresh.change_password(new_hash)
                await uow.commit()
    return customer


def _email_or_none(email: str) -> str | None:
    """The address as registration stored it; None for one that no account can have."""
    try:
        return normalize_email(email)
    except InvalidInput:
        return None


def check_password_form(password: str) -> str:
    """The same normalisation registration applied, without the policy (it may have changed)."""
    return unicodedata.normalize("NFKC", password)


async def change_password(
    command: ChangePassword, uow: CustomersUnitOfWork, clock: Clock, hasher: PasswordHasher
) -> None:
    """Whoever holds a token must also know the current password; every login ends, since
    whoever learnt the old password may have logged in with it."""
    async with uow:
        customer = await uow.customers.get(command.customer_id)
    if customer is None:
        raise NotFound(f"customer {command.customer_id} not found")
    current = command.current_password
    if len(current) > MAX_LENGTH * 4 or not await hasher.verify(
        customer.password_hash, check_password_form(current)
    ):
        raise WrongPassword("the current password is wrong")
    # Hashing is the slow part: outside the transaction, as at registration.
    new_hash = await hasher.hash(check_password(command.new_password, customer.email))
    now = clock.now()
    async with uow:
        fresh = await uow.customers.get(customer.id)
        if fresh is None:
            raise NotFound(f"customer {command.customer_id} not found")
        if fresh.password_hash != customer.password_hash:
            # Verified against a password that has since changed: prove the new one instead.
            raise ConcurrencyConflict("the password changed meanwhile; try again")
        fresh.change_password(new_hash)
        ended = await uow.sessions.live_of_customer(fresh.id)
        for session in ended:
            session.revoke(now)
        families = tuple(sorted({session.family_id for session in ended}))
        uow.emit(PasswordChanged(customer_id=fresh.id, family_ids=families))
        await commit_or_retry(uow)


async def ensure_staff(
    command: EnsureStaff, uow: CustomersUnitOfWork, clock: Clock, hasher: PasswordHasher
) -> Customer:
    email = normalize_email(command.email)
    async with uow:
        existing = await uow.customers.get_by_email(email)
        if existing is not None:
            existing.promote_to_staff()
            await uow.commit()
            return existing
    password_hash = await hasher.hash(check_password(command.password, email))
    async with uow:
        customer = Customer.register(
            id=new_id(),
            email=email,
            password_hash=password_hash,
            name=validation.text(command.name, "name", min_length=0, max_length=200),
            role=Role.STAFF,
            now=clock.now(),
        )
        await uow.customers.add(customer)
        await uow.commit()
    return customer


async def add_address(command: AddAddress, uow: CustomersUnitOfWork) -> Customer:
    async with uow:
        customer = await uow.customers.get(command.customer_id)
        if customer is None:
            raise NotFound(f"customer {command.customer_id} not found")
        customer.add_address(command.address)
        await uow.commit()
    return customer


COMMAND_HANDLERS: CommandTable = {
    RegisterCustomer: register_customer,
    Authenticate: authenticate,
    ChangePassword: change_password,
    EnsureStaff: ensure_staff,
    AddAddress: add_address,
    **SESSION_HANDLERS,
}
