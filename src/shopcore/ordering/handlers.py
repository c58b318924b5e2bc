"""Order use cases after checkout: cancel, ship (capture), deliver, refund; notifications."""

from __future__ import annotations

import contextlib
import logging

from shopcore.application.bus import CommandTable, EventTable
from shopcore.ordering.checkout import change, place_order
from shopcore.ordering.commands import (
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    RefundOrder,
    ShipOrder,
)
from shopcore.ordering.events import OrderPlaced, OrderShipped
from shopcore.ordering.model import Order
from shopcore.ordering.ports import (
    CustomerContacts,
    OrderingUnitOfWork,
    Payments,
    StockReservations,
)
from shopcore.shared.clock import Clock
from shopcore.shared.errors import IllegalTransition, NotFound, ShopError
from shopcore.shared.notifications import Notification, Notifier

logger = logging.getLogger("shopcore.ordering")


async def cancel_order(
    command: CancelOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    stock: StockReservations,
    payments: Payments,
) -> Order:
    """Cancel first (the version check settles a race with shipping), then hand back the
    stock and the authorization."""
    async with uow:
        order = await _visible(uow, command.order_id, command.customer_id)
        order.cancel(command.reason[:200], clock.now())
        await uow.commit()
    with contextlib.suppress(NotFound):  # checkout died before reserving: nothing to give back
        await stock.release(order.reservation_id)
    if order.payment_id is not None:
        try:
            await payments.void(order.payment_id, f"{order.id}:void")
        except ShopError:
            # The order stays cancelled; an unvoided authorization lapses at the gateway.
            logger.exception("could not void the payment of cancelled order %s", order.id)
    return order


async def ship_order(
    command: ShipOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    stock: StockReservations,
    payments: Payments,
) -> Order:
    """Capture at shipping, and only for a confirmed order, whose stock is allocated."""
    order = await change(uow, command.order_id, lambda o: o.start_shipping(clock.now()))
    if order.payment_id is None:  # pragma: no cover - confirmed orders always have one
        raise IllegalTransition(f"order {order.id} has no payment")
    try:
        await payments.capture(order.payment_id, f"{order.id}:capture")
    except ShopError:
        await change(uow, order.id, lambda o: o.stop_shipping())
        raise
    await stock.ship(order.reservation_id)
    return await change(uow, order.id, lambda o: o.ship(clock.now()))


async def deliver_order(command: DeliverOrder, uow: OrderingUnitOfWork, clock: Clock) -> Order:
    return await change(uow, command.order_id, lambda o: o.deliver(clock.now()))


async def refund_order(
    command: RefundOrder, uow: OrderingUnitOfWork, clock: Clock, payments: Payments
) -> Order:
    key = f"{command.order_id}:refund:{command.idempotency_key}"
    async with uow:
        order = await _visible(uow, command.order_id, None)
        entry = order.begin_refund(key, command.amount)
        await uow.commit()
    if entry.completed:
        return order
    if order.payment_id is None:  # pragma: no cover - refundable orders were captured
        raise IllegalTransition(f"order {order.id} has no payment")
    try:
        await payments.refund(order.payment_id, entry.amount, key)
    except ShopError:
        await change(uow, order.id, lambda o: o.abandon_refund(key))
        raise
    return await change(uow, order.id, lambda o: o.complete_refund(key, clock.now()))


async def _visible(uow: OrderingUnitOfWork, order_id: str, customer_id: str | None) -> Order:
    """The order, if the caller may see it: another customer's order does not exist for them."""
    order = await uow.orders.get(order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise NotFound(f"order {order_id} not found")
    return order


async def send_order_confirmation(
    event: OrderPlaced, uow: OrderingUnitOfWork, contacts: CustomerContacts, notifier: Notifier
) -> None:
    email = await contacts.email_of(event.customer_id)
    if email is None:
        return
    amount = event.total
    await notifier.send(
        Notification(
            to=email,
            subject=f"Your order {event.order_id} is confirmed",
            body=f"Thank you for your order. Total: {_format(amount.amount)} {amount.currency}.",
            dedup_key=f"order-confirmation:{event.order_id}",
        )
    )


async def send_shipping_notice(
    event: OrderShipped, uow: OrderingUnitOfWork, contacts: CustomerContacts, notifier: Notifier
) -> None:
    email = await contacts.email_of(event.customer_id)
    if email is None:
        return
    await notifier.send(
        Notification(
            to=email,
            subject=f"Your order {event.order_id} is on its way",
            body="Your order has left our warehouse.",
            dedup_key=f"order-shipped:{event.order_id}",
        )
    )


def _format(minor_units: int) -> str:
    """Minor units as a decimal string without float: 12345 -> '123.45'."""
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    return f"{sign}{whole}.{cents:02d}"


COMMAND_HANDLERS: CommandTable = {
    PlaceOrder: place_order,
    CancelOrder: cancel_order,
    ShipOrder: ship_order,
    DeliverOrder: deliver_order,
    RefundOrder: refund_order,
}
EVENT_HANDLERS: EventTable = {
    OrderPlaced: [send_order_confirmation],
    OrderShipped: [send_shipping_notice],
}
