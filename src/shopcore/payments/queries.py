"""The payments context's read side."""

from __future__ import annotations

from shopcore.payments.model import Payment
from shopcore.payments.ports import PaymentsUnitOfWork


async def payments_for_order(uow: PaymentsUnitOfWork, order_id: str) -> list[Payment]:
    async with uow:
        return await uow.payments.for_order(order_id)


async def get_payment(uow: PaymentsUnitOfWork, payment_id: str) -> Payment | None:
    async with uow:
        return await uow.payments.get(payment_id)
