"""Changing a password: the current one proven, the new one checked by the policy, every login
of the account ended in the same transaction, and a race with a rotation or another change
resolved without a login surviving."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.hasher import FastInsecureHasher
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from apps.components import Components
from apps.settings import Settings
from shopcore import AuthenticationFailed, NotFound, RegisterCustomer
from shopcore.customers.commands import (
    Authenticate,
    ChangePassword,
    EndSession,
    RotateSession,
    StartSession,
)
from shopcore.customers.events import PasswordChanged
from shopcore.customers.sessions import SessionGrant
from shopcore.shared.errors import ConcurrencyConflict, WeakPassword, WrongPassword
from shopcore.shared.ids import new_id
from tests.support.driver import PASSWORD, ShopDriver

NEW = "a brand new passphrase"


def changed_events(store: MemoryStore) -> list[PasswordChanged]:
    return [event for event in store.outbox if isinstance(event, PasswordChanged)]


async def test_the_new_password_authenticates_and_the_old_one_does_not(
    driver: ShopDriver,
) -> None:
    customer = await driver.customer()

    await driver.handle(
        ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password=NEW)
    )

    assert (await driver.handle(Authenticate(email=customer.email, password=NEW))).id == (
        customer.id
    )
    with pytest.raises(AuthenticationFailed):
        await driver.handle(Authenticate(email=customer.email, password=PASSWORD))


async def test_every_live_login_is_revoked_and_named_in_the_event(driver: ShopDriver) -> None:
    customer = await driver.customer()
    first: SessionGrant = await driver.handle(StartSession(customer_id=customer.id))
    rotated: SessionGrant = await driver.handle(RotateSession(refresh_token=first.refresh_token))
    second: SessionGrant = await driver.handle(StartSession(customer_id=customer.id))
    ended: SessionGrant = await driver.handle(StartSession(customer_id=customer.id))
    await driver.handle(EndSession(refresh_token=ended.refresh_token))
    other: SessionGrant = await driver.handle(
        StartSession(customer_id=(await driver.customer()).id)
    )

    await driver.handle(
        ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password=NEW)
    )

    for grant in (rotated, second):
        with pytest.raises(AuthenticationFailed):
            await driver.handle(RotateSession(refresh_token=grant.refresh_token))
    [event] = changed_events(driver.store)
    assert event.customer_id == customer.id
    # The logins still alive: the ended one needs no second revocation.
    assert event.family_ids == tuple(sorted((first.session.family_id, second.session.family_id)))
    assert PASSWORD not in repr(event) and NEW not in repr(event)
    assert (await driver.handle(RotateSession(refresh_token=other.refresh_token))).customer.id


async def test_a_wrong_current_password_changes_nothing(driver: ShopDriver) -> None:
    customer = await driver.customer()
    grant: SessionGrant = await driver.handle(StartSession(customer_id=customer.id))

    for wrong in ("not the passphrase", "x" * 10_000):
        with pytest.raises(WrongPassword):
            await driver.handle(
                ChangePassword(customer_id=customer.id, current_password=wrong, new_password=NEW)
            )

    assert (await driver.handle(Authenticate(email=customer.email, password=PASSWORD))).id
    assert await driver.handle(RotateSession(refresh_token=grant.refresh_token))
    assert changed_events(driver.store) == []


async def test_a_weak_new_password_changes_nothing(driver: ShopDriver) -> None:
    customer = await driver.customer()

    with pytest.raises(WeakPassword):
        await driver.handle(
            ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password="x")
        )

    assert (await driver.handle(Authenticate(email=customer.email, password=PASSWORD))).id


async def test_an_unknown_customer_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(
            ChangePassword(customer_id=new_id(), current_password=PASSWORD, new_password=NEW)
        )


def test_the_command_never_shows_a_password() -> None:
    command = ChangePassword(customer_id="c1", current_password=PASSWORD, new_password=NEW)

    assert PASSWORD not in repr(command) and NEW not in repr(command)


class YieldBeforeCommit(MemoryUnitOfWork):
    """A unit of work that lets other requests run before it commits, like a database trip."""

    async def commit(self) -> None:
        await asyncio.sleep(0)
        await super().commit()


def racing_shop(store: MemoryStore) -> Components:
    return Components(
        Settings(),
        clock=ManualClock(),
        hasher=FastInsecureHasher(),
        store=store,
        unit_of_work=lambda: YieldBeforeCommit(store),
    )


async def test_a_rotation_racing_the_change_leaves_no_live_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    shop = racing_shop(store).shop
    customer = await shop.handle(RegisterCustomer(email="race@example.com", password=PASSWORD))
    grant: SessionGrant = await shop.handle(StartSession(customer_id=customer.id))
    caplog.set_level(logging.INFO, logger="shopcore.bus")

    outcomes = await asyncio.gather(
        shop.handle(
            ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password=NEW)
        ),
        shop.handle(RotateSession(refresh_token=grant.refresh_token)),
        return_exceptions=True,
    )

    assert outcomes[0] is None
    async with shop.uow() as uow:
        assert await uow.sessions.live_of_customer(customer.id) == []
    if isinstance(outcomes[1], SessionGrant):  # the rotation won: its successor ended too
        [event] = changed_events(store)
        assert event.family_ids == (grant.session.family_id,)
    else:
        assert isinstance(outcomes[1], AuthenticationFailed)
    assert "retrying" in caplog.text  # they really overlapped


async def test_two_changes_at_once_one_wins_and_the_other_must_prove_the_new_password() -> None:
    store = MemoryStore()
    shop = racing_shop(store).shop
    customer = await shop.handle(RegisterCustomer(email="twice@example.com", password=PASSWORD))
    other = "another new passphrase"

    outcomes = await asyncio.gather(
        shop.handle(
            ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password=NEW)
        ),
        shop.handle(
            ChangePassword(customer_id=customer.id, current_password=PASSWORD, new_password=other)
        ),
        return_exceptions=True,
    )

    [lost] = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    # Run again after its commit conflicted, the loser proves the old password against the
    # winner's hash (or, had it loaded the new hash earlier, finds it changed meanwhile).
    assert isinstance(lost, WrongPassword | ConcurrencyConflict)
    won = NEW if outcomes[0] is None else other
    assert (await shop.handle(Authenticate(email=customer.email, password=won))).id
