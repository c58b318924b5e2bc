from __future__ import annotations

import pytest

from shopcore import AddAddress, Address, InvalidInput, NotFound
from shopcore.customers.model import MAX_ADDRESSES, Customer
from shopcore.customers.queries import get_customer
from shopcore.shared.ids import new_id
from tests.support.driver import ADDRESS, ShopDriver


def numbered(n: int) -> Address:
    return Address(
        name="Ada", line1=f"{n} Main Street", city="Berlin", postal_code="10115", country="DE"
    )


async def test_an_added_address_is_kept_in_the_book_cleaned(driver: ShopDriver) -> None:
    customer = await driver.customer()
    messy = Address(
        name=" Ada Lovelace ",
        line1="1 Main Street ",
        city=" Berlin",
        postal_code="10115",
        country="DE",
    )

    updated: Customer = await driver.handle(AddAddress(customer_id=customer.id, address=messy))

    assert updated.addresses == [ADDRESS]
    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None and stored.addresses == [ADDRESS]


async def test_addresses_are_kept_in_the_order_added(driver: ShopDriver) -> None:
    customer = await driver.customer()

    for n in range(3):
        await driver.handle(AddAddress(customer_id=customer.id, address=numbered(n)))

    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None
    assert stored.addresses == [numbered(0), numbered(1), numbered(2)]


async def test_adding_an_address_for_an_unknown_customer_is_not_found(driver: ShopDriver) -> None:
    with pytest.raises(NotFound) as raised:
        await driver.handle(AddAddress(customer_id=new_id(), address=ADDRESS))

    assert raised.value.code == "not-found"


@pytest.mark.parametrize(
    "bad",
    [
        Address(name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="de"),
        Address(name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="ZZ"),
        Address(name="", line1="1 Main St", city="Berlin", postal_code="10115", country="DE"),
    ],
)
async def test_an_invalid_address_is_refused_and_not_kept(driver: ShopDriver, bad: Address) -> None:
    customer = await driver.customer()

    with pytest.raises(InvalidInput):
        await driver.handle(AddAddress(customer_id=customer.id, address=bad))

    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None and stored.addresses == []


async def test_an_address_book_holds_at_most_twenty_addresses(driver: ShopDriver) -> None:
    customer = await driver.customer()
    for n in range(MAX_ADDRESSES):
        await driver.handle(AddAddress(customer_id=customer.id, address=numbered(n)))

    with pytest.raises(InvalidInput, match="at most 20 addresses"):
        await driver.handle(AddAddress(customer_id=customer.id, address=numbered(99)))

    stored = await get_customer(driver.shop.uow(), customer.id)
    assert stored is not None and len(stored.addresses) == MAX_ADDRESSES
