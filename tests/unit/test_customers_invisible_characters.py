"""Emails with invisible characters: refused at registration, never looked up at login.

A NUL byte makes PostgreSQL fail the statement, and zero-width or bidi characters make an
address that looks like another customer's."""

from __future__ import annotations

import pytest

from shopcore import Authenticate, AuthenticationFailed, InvalidInput, RegisterCustomer
from tests.support.driver import PASSWORD, ShopDriver

INVISIBLE = ["\x00", "\x1b", "\u200b", "\u202e", "\ufeff", "\U000e0041"]


@pytest.mark.parametrize("character", INVISIBLE)
async def test_an_email_with_an_invisible_character_cannot_register(
    driver: ShopDriver, character: str
) -> None:
    with pytest.raises(InvalidInput, match="email is not a valid address"):
        await driver.handle(
            RegisterCustomer(email=f"ada{character}@example.com", password=PASSWORD)
        )


@pytest.mark.parametrize("character", INVISIBLE)
async def test_logging_in_with_an_invisible_character_fails_like_a_wrong_password(
    driver: ShopDriver, character: str
) -> None:
    await driver.customer("ada@example.com")

    with pytest.raises(AuthenticationFailed) as raised:
        await driver.handle(Authenticate(email=f"ada{character}@example.com", password=PASSWORD))

    assert raised.value.detail == "email or password is wrong"


async def test_international_letters_stay_welcome(driver: ShopDriver) -> None:
    customer = await driver.customer("zoë.ünal@bücher.example")

    assert customer.email == "zoë.ünal@bücher.example"
