from __future__ import annotations

import pytest

from adapters.memory.hasher import FastInsecureHasher
from shopcore import Authenticate, AuthenticationFailed, RegisterCustomer
from shopcore.customers.model import Customer
from shopcore.customers.password_policy import MAX_LENGTH
from shopcore.customers.queries import get_customer
from tests.support.driver import PASSWORD, ShopDriver, build_driver


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


class CountingHasher(FastInsecureHasher):
    def __init__(self) -> None:
        self.hashed = 0

    async def hash(self, password: str) -> str:
        self.hashed += 1
        return await super().hash(password)


class VersionedHasher(FastInsecureHasher):
    """Stamps each hash with the current parameter version; older stamps need a rehash."""

    def __init__(self) -> None:
        self.version = 1

    async def hash(self, password: str) -> str:
        return f"v{self.version}:{await super().hash(password)}"

    async def verify(self, password_hash: str, password: str) -> bool:
        _, _, inner = password_hash.partition(":")
        return await super().verify(inner, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"v{self.version}:")


async def failure(driver: ShopDriver, email: str, password: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as raised:
        await driver.handle(Authenticate(email=email, password=password))
    return raised.value


async def test_the_right_credentials_authenticate_the_customer(driver: ShopDriver) -> None:
    customer = await driver.customer("ada@example.com")

    found: Customer = await driver.handle(Authenticate(email="ada@example.com", password=PASSWORD))

    assert found.id == customer.id


async def test_the_email_matches_regardless_of_case_and_spaces(driver: ShopDriver) -> None:
    customer = await driver.customer("ada@example.com")

    found: Customer = await driver.handle(
        Authenticate(email="  ADA@Example.com ", password=PASSWORD)
    )

    assert found.id == customer.id


async def test_a_wrong_password_and_an_unknown_email_fail_alike(driver: ShopDriver) -> None:
    await driver.customer("ada@example.com")

    wrong_password = await failure(driver, "ada@example.com", PASSWORD + "!")
    unknown_email = await failure(driver, "nobody@example.com", PASSWORD)

    assert wrong_password.code == unknown_email.code == "authentication-failed"
    assert wrong_password.detail == unknown_email.detail == "email or password is wrong"


async def test_an_unknown_email_still_costs_a_password_hash() -> None:
    # Without the decoy hash, fast replies would reveal which emails have accounts.
    hasher = CountingHasher()
    driver = build_driver(hasher=hasher)

    await failure(driver, "nobody@example.com", PASSWORD)

    assert hasher.hashed == 1


async def test_the_password_is_compared_after_nfkc_normalisation(driver: ShopDriver) -> None:
    customer: Customer = await driver.handle(
        RegisterCustomer(email="ada@example.com", password=fullwidth("fullwidth pw"))
    )

    found: Customer = await driver.handle(
        Authenticate(email="ada@example.com", password="fullwidth pw")
    )

    assert found.id == customer.id


async def test_the_password_is_case_sensitive(driver: ShopDriver) -> None:
    await driver.customer("ada@example.com")

    await failure(driver, "ada@example.com", PASSWORD.upper())


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "x" * (MAX_LENGTH * 4 + 1)),
        ("a" * 255, PASSWORD),
        ("ada@example.com", ""),
    ],
    ids=["huge-password", "huge-email", "empty-password"],
)
async def test_oversized_or_empty_credentials_fail_without_a_hint(
    driver: ShopDriver, email: str, password: str
) -> None:
    await driver.customer("ada@example.com")

    error = await failure(driver, email, password)

    assert error.detail == "email or password is wrong"


async def test_a_hash_made_with_old_parameters_is_upgraded_on_login() -> None:
    hasher = VersionedHasher()
    driver = build_driver(hasher=hasher)
    customer = await driver.customer("ada@example.com")
    assert customer.password_hash.startswith("v1:")

    hasher.version = 2
    await driver.handle(Authenticate(email="ada@example.com", password=PASSWORD))

    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None
    assert stored.password_hash.startswith("v2:")
    assert await hasher.verify(stored.password_hash, PASSWORD)
    again: Customer = await driver.handle(Authenticate(email="ada@example.com", password=PASSWORD))
    assert again.id == customer.id


async def test_a_current_hash_is_left_alone_on_login(driver: ShopDriver) -> None:
    customer = await driver.customer("ada@example.com")

    await driver.handle(Authenticate(email="ada@example.com", password=PASSWORD))

    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None
    assert (stored.password_hash, stored.version) == (customer.password_hash, customer.version)
