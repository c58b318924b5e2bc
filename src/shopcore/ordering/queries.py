"""The ordering read side: a customer's orders, one order, and the staff's listing."""

from __future__ import annotations

from shopcore.ordering.model import Order, OrderStatus
from shopcore.ordering.ports import OrderingUnitOfWork
from shopcore.shared.errors import InvalidInput
from shopcore.shared.ids import is_id
from shopcore.shared.pagination import Page, check_limit, decode_cursor, page_of


async def get_order(
    uow: OrderingUnitOfWork, order_id: str, customer_id: str | None
) -> Order | None:
    """`customer_id` None means staff: every order is visible."""
    async with uow:
        order = await uow.orders.get(order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        return None
    return order


async def list_orders(
    uow: OrderingUnitOfWork,
    *,
    customer_id: str | None,
    status: OrderStatus | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[Order]:
    check_limit(limit)
    before = decode_cursor(cursor)
    if before is not None and not is_id(before):
        raise InvalidInput("cursor is malformed")
    async with uow:
        rows = await uow.orders.page(
            customer_id=customer_id, status=status, before=before, limit=limit + 1
        )
    return page_of(rows, limit, key=lambda order: order.id)
