"""Refresh sessions: started at login, rotated on each refresh; reuse revokes the family."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.hasher import FastInsecureHasher
from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from apps.components import Components
from apps.settings import Settings
from shopcore import AuthenticationFailed, EnsureStaff, NotFound, RegisterCustomer
from shopcore.customers.commands import EndSession, RotateSession, StartSession
from shopcore.customers.events import RefreshTokenReused
from shopcore.customers.model import Customer, Role
from shopcore.customers.sessions import RefreshSession, SessionGrant, hash_refresh_token
from shopcore.shared.ids import new_id
from tests.support.driver import ShopDriver, build_driver


async def login(driver: ShopDriver, customer: Customer) -> SessionGrant:
    grant: SessionGrant = await driver.handle(StartSession(customer_id=customer.id))
    return grant


async def rotate(driver: ShopDriver, token: str) -> SessionGrant:
    grant: SessionGrant = await driver.handle(RotateSession(refresh_token=token))
    return grant


async def refused(driver: ShopDriver, token: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as raised:
        await driver.handle(RotateSession(refresh_token=token))
    return raised.value


async def stored(driver: ShopDriver, session_id: str) -> RefreshSession:
    async with driver.shop.uow() as uow:
        session = await uow.sessions.get(session_id)
    assert session is not None
    return session


async def family(driver: ShopDriver, family_id: str) -> list[RefreshSession]:
    async with driver.shop.uow() as uow:
        return await uow.sessions.family(family_id)


def reuse_events(driver: ShopDriver) -> list[RefreshTokenReused]:
    return [event for event in driver.store.outbox if isinstance(event, RefreshTokenReused)]


# -- starting ------------------------------------------------------------------------------
async def test_a_session_keeps_only_the_hash_of_its_token(driver: ShopDriver) -> None:
    customer = await driver.customer()

    grant = await login(driver, customer)

    session = await stored(driver, grant.session.id)
    assert session.token_hash == hash_refresh_token(grant.refresh_token)
    assert grant.refresh_token not in repr(session)
    assert len(grant.refresh_token) >= 43  # 32 random bytes, URL-safe base64
    assert (session.customer_id, session.family_id) == (customer.id, session.id)
    assert session.used_at is None and session.revoked_at is None
    assert grant.customer.id == customer.id


async def test_a_session_lives_thirty_days_by_default(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())

    assert grant.session.created_at == driver.clock.now()
    assert grant.session.expires_at == driver.clock.now() + timedelta(days=30)


async def test_the_session_lifetime_comes_from_the_settings() -> None:
    driver = build_driver(Settings(refresh_token_days=7))

    grant = await login(driver, await driver.customer())

    assert grant.session.expires_at - grant.session.created_at == timedelta(days=7)


async def test_the_raw_token_never_shows_in_a_repr_or_an_event(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())
    successor = await rotate(driver, grant.refresh_token)
    await driver.handle(EndSession(refresh_token=successor.refresh_token))
    await refused(driver, grant.refresh_token)

    shown = " ".join(
        [
            repr(grant),
            repr(successor),
            repr(RotateSession(refresh_token=grant.refresh_token)),
            repr(EndSession(refresh_token=grant.refresh_token)),
            *(repr(event) for event in driver.store.outbox),
        ]
    )
    for token in (grant.refresh_token, successor.refresh_token):
        assert token not in shown


async def test_every_login_gets_a_token_of_its_own(driver: ShopDriver) -> None:
    customer = await driver.customer()

    first, second = await login(driver, customer), await login(driver, customer)

    assert first.refresh_token != second.refresh_token
    assert first.session.family_id != second.session.family_id


async def test_a_session_cannot_start_for_an_unknown_customer(driver: ShopDriver) -> None:
    with pytest.raises(NotFound):
        await driver.handle(StartSession(customer_id=new_id()))


# -- rotating ------------------------------------------------------------------------------
async def test_rotating_spends_the_token_and_issues_its_successor(driver: ShopDriver) -> None:
    customer = await driver.customer()
    first = await login(driver, customer)
    driver.clock.advance(minutes=20)

    second = await rotate(driver, first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert second.customer.id == customer.id
    assert second.session.family_id == first.session.family_id
    assert second.session.expires_at == driver.clock.now() + timedelta(days=30)
    spent = await stored(driver, first.session.id)
    assert spent.used_at == driver.clock.now() and spent.revoked_at is None
    assert [s.id for s in await family(driver, first.session.family_id)] == [
        first.session.id,
        second.session.id,
    ]


async def test_a_chain_of_rotations_keeps_working(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())

    for _ in range(5):
        driver.clock.advance(minutes=15)
        grant = await rotate(driver, grant.refresh_token)

    sessions = await family(driver, grant.session.family_id)
    assert len(sessions) == 6
    assert [s.used_at is None for s in sessions] == [False] * 5 + [True]


async def test_a_rotation_carries_the_customers_current_role(driver: ShopDriver) -> None:
    customer = await driver.customer("ada@example.com")
    grant = await login(driver, customer)
    await driver.handle(EnsureStaff(email="ada@example.com", password="irrelevant here"))

    rotated = await rotate(driver, grant.refresh_token)

    assert rotated.customer.role is Role.STAFF


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 10_000])
async def test_an_unknown_token_is_refused(driver: ShopDriver, token: str) -> None:
    await login(driver, await driver.customer())

    error = await refused(driver, token)

    assert error.detail == "the refresh token is invalid, expired or revoked"


async def test_an_expired_token_is_refused(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())
    driver.clock.advance(days=30)

    await refused(driver, grant.refresh_token)

    assert reuse_events(driver) == []


async def test_a_token_works_until_the_moment_it_expires(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())
    driver.clock.advance(days=30, microseconds=-1)

    assert (await rotate(driver, grant.refresh_token)).session.family_id == grant.session.id


# -- reuse detection -----------------------------------------------------------------------
async def test_a_spent_token_presented_again_revokes_the_whole_family(driver: ShopDriver) -> None:
    customer = await driver.customer()
    first = await login(driver, customer)
    second = await rotate(driver, first.refresh_token)

    await refused(driver, first.refresh_token)

    # The thief and the customer hold the same family: both are logged out.
    await refused(driver, second.refresh_token)
    latest = await stored(driver, second.session.id)
    assert latest.revoked_at == driver.clock.now()
    [event] = reuse_events(driver)
    assert (event.customer_id, event.family_id) == (customer.id, first.session.family_id)


async def test_reuse_leaves_the_customers_other_logins_alone(driver: ShopDriver) -> None:
    customer = await driver.customer()
    phone, laptop = await login(driver, customer), await login(driver, customer)
    await rotate(driver, phone.refresh_token)

    await refused(driver, phone.refresh_token)

    assert (await rotate(driver, laptop.refresh_token)).session.family_id == laptop.session.id


async def test_a_spent_token_counts_as_reused_even_after_it_expired(driver: ShopDriver) -> None:
    first = await login(driver, await driver.customer())
    second = await rotate(driver, first.refresh_token)
    driver.clock.advance(days=31)

    await refused(driver, first.refresh_token)

    assert len(reuse_events(driver)) == 1
    assert (await stored(driver, second.session.id)).revoked_at is not None


class YieldBeforeCommit(MemoryUnitOfWork):
    """A unit of work that lets other requests run before it commits, like a database trip."""

    async def commit(self) -> None:
        await asyncio.sleep(0)
        await super().commit()


async def test_one_token_spent_twice_at_once_counts_as_reuse(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    shop = Components(
        Settings(),
        clock=ManualClock(),
        hasher=FastInsecureHasher(),
        store=store,
        unit_of_work=lambda: YieldBeforeCommit(store),
    ).shop
    customer = await shop.handle(
        RegisterCustomer(email="racer@example.com", password="a long enough passphrase")
    )
    grant: SessionGrant = await shop.handle(StartSession(customer_id=customer.id))

    caplog.set_level(logging.INFO, logger="shopcore.bus")

    outcomes = await asyncio.gather(
        shop.handle(RotateSession(refresh_token=grant.refresh_token)),
        shop.handle(RotateSession(refresh_token=grant.refresh_token)),
        return_exceptions=True,
    )

    [winner] = [outcome for outcome in outcomes if isinstance(outcome, SessionGrant)]
    [loser] = [outcome for outcome in outcomes if not isinstance(outcome, SessionGrant)]
    assert isinstance(loser, AuthenticationFailed)
    # Whoever won, the family is dead: the winner's fresh token is refused too.
    with pytest.raises(AuthenticationFailed):
        await shop.handle(RotateSession(refresh_token=winner.refresh_token))
    assert any(isinstance(event, RefreshTokenReused) for event in store.outbox)
    # The two really overlapped: the loser's commit conflicted and the bus ran it again.
    assert "retrying RotateSession" in caplog.text


# -- ending --------------------------------------------------------------------------------
async def test_logging_out_revokes_the_token_without_calling_it_reuse(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())

    await driver.handle(EndSession(refresh_token=grant.refresh_token))

    await refused(driver, grant.refresh_token)
    assert (await stored(driver, grant.session.id)).revoked_at == driver.clock.now()
    assert reuse_events(driver) == []


async def test_logging_out_twice_or_with_an_unknown_token_is_fine(driver: ShopDriver) -> None:
    grant = await login(driver, await driver.customer())

    await driver.handle(EndSession(refresh_token=grant.refresh_token))
    await driver.handle(EndSession(refresh_token=grant.refresh_token))
    await driver.handle(EndSession(refresh_token="never-issued"))
    await driver.handle(EndSession(refresh_token=""))

    assert (await stored(driver, grant.session.id)).revoked_at is not None


async def test_logging_out_with_a_stale_token_ends_its_successor_too(driver: ShopDriver) -> None:
    first = await login(driver, await driver.customer())
    second = await rotate(driver, first.refresh_token)

    await driver.handle(EndSession(refresh_token=first.refresh_token))

    await refused(driver, second.refresh_token)
    assert (await stored(driver, second.session.id)).revoked_at is not None


async def test_logging_out_ends_only_that_login(driver: ShopDriver) -> None:
    customer = await driver.customer()
    phone, laptop = await login(driver, customer), await login(driver, customer)

    await driver.handle(EndSession(refresh_token=phone.refresh_token))

    await rotate(driver, laptop.refresh_token)
