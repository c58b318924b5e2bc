from __future__ import annotations

import pytest

from shopcore import Authenticate, EnsureStaff, InvalidInput, WeakPassword
from shopcore.customers.events import CustomerPromoted, CustomerRegistered
from shopcore.customers.model import Customer, Role
from shopcore.customers.queries import get_customer
from tests.support.driver import PASSWORD, ShopDriver


async def test_ensure_staff_creates_a_staff_account_that_can_log_in(driver: ShopDriver) -> None:
    staff: Customer = await driver.handle(
        EnsureStaff(email=" Boss@Example.com", password=PASSWORD, name=" The Boss ")
    )

    assert (staff.email, staff.name, staff.role) == ("boss@example.com", "The Boss", Role.STAFF)
    assert staff.is_staff
    assert await get_customer(driver.shop.uow(), staff.id) == staff
    [event] = driver.store.outbox
    assert isinstance(event, CustomerRegistered)
    assert (event.customer_id, event.role) == (staff.id, "staff")
    found: Customer = await driver.handle(Authenticate(email="boss@example.com", password=PASSWORD))
    assert found.id == staff.id and found.is_staff


async def test_ensure_staff_promotes_an_existing_customer(driver: ShopDriver) -> None:
    customer = await driver.customer("ada@example.com")

    promoted: Customer = await driver.handle(
        EnsureStaff(email="ADA@example.com", password="another long passphrase")
    )

    assert promoted.id == customer.id
    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None and stored.role is Role.STAFF
    assert stored.password_hash == customer.password_hash
    promotions = [e for e in driver.store.outbox if isinstance(e, CustomerPromoted)]
    assert [e.customer_id for e in promotions] == [customer.id]


async def test_ensure_staff_is_idempotent(driver: ShopDriver) -> None:
    first: Customer = await driver.handle(EnsureStaff(email="boss@example.com", password=PASSWORD))
    events_before = list(driver.store.outbox)

    second: Customer = await driver.handle(EnsureStaff(email="boss@example.com", password=PASSWORD))

    assert second.id == first.id
    assert second.is_staff
    assert driver.store.outbox == events_before
    assert len(driver.store.customers) == 1


async def test_a_new_staff_account_needs_a_strong_password(driver: ShopDriver) -> None:
    with pytest.raises(WeakPassword):
        await driver.handle(EnsureStaff(email="boss@example.com", password="boss"))

    assert len(driver.store.customers) == 0


@pytest.mark.parametrize(
    ("email", "name", "message"),
    [("not-an-email", "", "email"), ("boss@example.com", "n" * 201, "name")],
)
async def test_a_staff_account_with_invalid_details_is_refused(
    driver: ShopDriver, email: str, name: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await driver.handle(EnsureStaff(email=email, password=PASSWORD, name=name))

    assert len(driver.store.customers) == 0


async def test_a_registered_customer_is_not_staff(driver: ShopDriver) -> None:
    customer = await driver.customer()

    assert customer.role is Role.CUSTOMER
    assert not customer.is_staff
