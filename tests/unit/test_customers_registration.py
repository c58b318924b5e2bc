from __future__ import annotations

import pytest

from adapters.memory.hasher import FastInsecureHasher
from shopcore import (
    AlreadyExists,
    Authenticate,
    EnsureStaff,
    InvalidInput,
    RegisterCustomer,
    WeakPassword,
)
from shopcore.customers.events import CustomerRegistered
from shopcore.customers.model import Customer, Role
from shopcore.customers.queries import email_of, get_customer
from shopcore.shared.ids import new_id
from tests.support.driver import PASSWORD, ShopDriver


async def test_a_registered_customer_is_stored_with_a_hash_and_announced(
    driver: ShopDriver,
) -> None:
    command = RegisterCustomer(email="ada@example.com", password=PASSWORD, name=" Ada ")

    customer: Customer = await driver.handle(command)

    assert customer.id == command.customer_id
    assert (customer.email, customer.name, customer.role) == ("ada@example.com", "Ada", "customer")
    assert customer.role is Role.CUSTOMER and not customer.is_staff
    assert customer.addresses == []
    assert customer.created_at == driver.clock.now()
    assert PASSWORD not in customer.password_hash
    assert await FastInsecureHasher().verify(customer.password_hash, PASSWORD)
    assert await get_customer(driver.shop.uow(), customer.id) == customer
    [event] = driver.store.outbox
    assert isinstance(event, CustomerRegistered)
    assert (event.customer_id, event.role) == (customer.id, "customer")


async def test_the_email_is_stored_trimmed_and_lower_case(driver: ShopDriver) -> None:
    customer: Customer = await driver.handle(
        RegisterCustomer(email="  Ada.Lovelace@Example.COM ", password=PASSWORD)
    )

    assert customer.email == "ada.lovelace@example.com"
    assert await email_of(driver.shop.uow(), customer.id) == "ada.lovelace@example.com"


async def test_an_email_registered_twice_in_any_case_is_refused(driver: ShopDriver) -> None:
    await driver.customer("ada@example.com")

    with pytest.raises(AlreadyExists, match="already exists") as raised:
        await driver.handle(RegisterCustomer(email="ADA@Example.com ", password=PASSWORD))

    assert raised.value.code == "already-exists"
    assert len(driver.store.customers) == 1


async def test_a_staff_email_cannot_be_registered_again_as_a_customer(driver: ShopDriver) -> None:
    await driver.handle(EnsureStaff(email="boss@example.com", password=PASSWORD))

    with pytest.raises(AlreadyExists):
        await driver.customer("boss@example.com")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "a da@example.com",
        f"{'a' * 65}@example.com",
        f"ada@{'e' * 250}.com",
    ],
)
async def test_an_invalid_email_is_refused(driver: ShopDriver, email: str) -> None:
    with pytest.raises(InvalidInput, match="email is not a valid address"):
        await driver.handle(RegisterCustomer(email=email, password=PASSWORD))

    assert len(driver.store.customers) == 0


async def test_a_weak_password_is_refused_before_anything_is_stored(driver: ShopDriver) -> None:
    with pytest.raises(WeakPassword) as raised:
        await driver.handle(RegisterCustomer(email="ada@example.com", password="short"))

    assert raised.value.code == "weak-password"
    assert len(driver.store.customers) == 0
    assert driver.store.outbox == []


async def test_an_overlong_name_is_refused(driver: ShopDriver) -> None:
    with pytest.raises(InvalidInput, match="name must be 0 to 200"):
        await driver.handle(
            RegisterCustomer(email="ada@example.com", password=PASSWORD, name="n" * 201)
        )


async def test_an_unknown_customer_has_no_email(driver: ShopDriver) -> None:
    assert await get_customer(driver.shop.uow(), new_id()) is None
    assert await email_of(driver.shop.uow(), new_id()) is None


@pytest.mark.parametrize(
    "command",
    [
        RegisterCustomer(email="ada@example.com", password="hunter2-secret-pw"),
        Authenticate(email="ada@example.com", password="hunter2-secret-pw"),
        EnsureStaff(email="ada@example.com", password="hunter2-secret-pw"),
    ],
    ids=type,
)
def test_commands_carrying_a_password_never_show_it_in_their_repr(command: object) -> None:
    shown = repr(command)

    assert "hunter2-secret-pw" not in shown
    assert "ada@example.com" in shown
