"""The customers context's read side."""

from __future__ import annotations

from shopcore.customers.model import Customer
from shopcore.customers.ports import CustomersUnitOfWork


async def get_customer(uow: CustomersUnitOfWork, customer_id: str) -> Customer | None:
    async with uow:
        return await uow.customers.get(customer_id)


async def email_of(uow: CustomersUnitOfWork, customer_id: str) -> str | None:
    customer = await get_customer(uow, customer_id)
    return None if customer is None else customer.email
