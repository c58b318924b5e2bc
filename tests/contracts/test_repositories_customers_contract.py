"""What every customer repository must do: store a customer whole (addresses, role, password
hash) and find one by email whatever its case."""

from __future__ import annotations

import pytest

from shopcore.shared.address import Address
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import read, write


# -- customers -----------------------------------------------------------------------------
async def test_a_customer_reads_back_exactly_as_written(backend: Backend) -> None:
    customer = b.customer(email="Grace.Hopper@Example.com")
    customer.add_address(b.ADDRESS)
    customer.add_address(
        Address(name="Office", line1="1 Pier", city="Oslo", postal_code="0150", country="NO")
    )
    customer.promote_to_staff()
    customer.rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g")
    await write(backend, lambda uow: uow.customers.add(customer))

    stored = await read(backend, lambda uow: uow.customers.get(customer.id))

    assert stored == customer
    assert stored is not None
    assert stored.email == "grace.hopper@example.com"
    assert stored.addresses[0].line2 == "Hinterhaus, 3. OG"
    assert stored.events == []


async def test_changes_to_a_customer_are_kept(backend: Backend) -> None:
    customer = b.customer()
    await write(backend, lambda uow: uow.customers.add(customer))

    async with backend.uow() as uow:
        loaded = await uow.customers.get(customer.id)
        assert loaded is not None
        loaded.add_address(b.ADDRESS)
        loaded.promote_to_staff()
        await uow.commit()

    stored = await read(backend, lambda uow: uow.customers.get(customer.id))
    assert stored == loaded
    assert stored is not None
    assert stored.addresses == [b.ADDRESS]
    assert stored.is_staff


@pytest.mark.parametrize("asked", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"])
async def test_get_by_email_ignores_case(backend: Backend, asked: str) -> None:
    customer = b.customer(email="Ada@Example.com")
    await write(backend, lambda uow: uow.customers.add(customer))

    assert await read(backend, lambda uow: uow.customers.get_by_email(asked)) == customer


async def test_get_by_email_of_an_unknown_address_is_none(backend: Backend) -> None:
    await write(backend, lambda uow: uow.customers.add(b.customer(email="ada@example.com")))

    assert await read(backend, lambda uow: uow.customers.get_by_email("bob@example.com")) is None
    assert await read(backend, lambda uow: uow.customers.get(new_id())) is None
