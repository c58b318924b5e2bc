"""Order use cases after checkout: cancel, ship (capture), deliver, refund; notifications."""

from __future__ import annotations

import logging
from datetime import timedelta

from shopcore.application.bus import CommandTable, EventTable
from shopcore.application.unit_of_work import Together
from shopcore.ordering.checkout import place_order
from shopcore.ordering.commands import (
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    RecoverOrders,
    RefundOrder,
    ResumeOrder,
    ShipOrder,
)
from shopcore.ordering.events import OrderPlaced, OrderShipped
from shopcore.ordering.model import Order
from shopcore.ordering.ports import (
    CartSource,
    CustomerContacts,
    OrderingUnitOfWork,
    Payments,
    StockReservations,
)
from shopcore.ordering.settling import Settler
from shopcore.shared import validation
from shopcore.shared.clock import Clock
from shopcore.shared.errors import Busy, NotFound, ShopError
from shopcore.shared.notifications import Notification, Notifier

logger = logging.getLogger("shopcore.ordering")


async def cancel_order(
    command: CancelOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
    together: Together,
    settle_within: timedelta,
) -> Order:
    """Cancel first (the version check settles a race with shipping), then hand back the
    stock and the authorization; a crash in between leaves it to the recovery job."""
    async with uow:
        order = await _visible(uow, command.order_id, command.customer_id)
        order.cancel(command.reason[:200], clock.now())
        if order.settled:
            order.unsettle(clock.now() + settle_within)
        await uow.commit()
    settler = Settler(uow, clock, carts, stock, payments, together)
    try:
        return await settler.undo(order)
    except ShopError:
        # The order stays cancelled; the recovery job hands back what is left (an unvoided
        # authorization lapses at the gateway meanwhile).
        logger.exception("could not undo all of cancelled order %s yet", order.id)
        return await settler.get(order.id)


async def ship_order(
    command: ShipOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
    together: Together,
    settle_within: timedelta,
) -> Order:
    """Capture at shipping, and only for a confirmed order, whose stock is allocated."""
    settler = Settler(uow, clock, carts, stock, payments, together)
    async with uow:
        order = await _visible(uow, command.order_id, None)
        _start_shipping(order, clock, settle_within)
        await uow.commit()
    return await settler.ship(order)


async def deliver_order(command: DeliverOrder, uow: OrderingUnitOfWork, clock: Clock) -> Order:
    async with uow:
        order = await _visible(uow, command.order_id, None)
        order.deliver(clock.now())
        await uow.commit()
    return order


async def refund_order(
    command: RefundOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
    together: Together,
    settle_within: timedelta,
) -> Order:
    key = f"{command.order_id}:refund:{command.idempotency_key}"
    async with uow:
        order = await _visible(uow, command.order_id, None)
        entry = order.begin_refund(key, command.amount)
        if not entry.completed:
            order.unsettle(clock.now() + settle_within)
        await uow.commit()
    if entry.completed:
        return order
    settler = Settler(uow, clock, carts, stock, payments, together)
    try:
        await payments.refund(order.id, entry.amount, key)
    except ShopError:
        await settler.change(order.id, lambda o: _abandon_refund(o, key))
        raise
    return await settler.change(order.id, lambda o: _complete_refund(o, key, clock))


async def resume_order(
    command: ResumeOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
    together: Together,
) -> Order:
    """Finish an order's work now if it is overdue (a retried checkout whose first request
    died); an order whose work is still within its time is left to that work (Busy)."""
    settler = Settler(uow, clock, carts, stock, payments, together)
    order = await settler.get(command.order_id)
    if order.settle_by is not None and order.settle_by > clock.now():
        raise Busy(f"order {order.id} is still being worked on")
    return await settler.resume(order)


async def recover_orders(
    command: RecoverOrders,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
    together: Together,
) -> int:
    """The recovery job: finish every order whose work is overdue; returns how many it took."""
    validation.quantity(command.limit, "limit", maximum=1_000)
    async with uow:
        overdue = await uow.orders.unsettled(due_before=clock.now(), limit=command.limit)
    settler = Settler(uow, clock, carts, stock, payments, together)
    for order in overdue:
        logger.warning("recovering order %s (%s, due %s)", order.id, order.status, order.settle_by)
        try:
            await settler.resume(order)
        except Exception:  # one broken order must not stop the others
            logger.exception("could not recover order %s", order.id)
    return len(overdue)


def _start_shipping(order: Order, clock: Clock, settle_within: timedelta) -> None:
    """Claim the order for shipping (the version check lets one of two concurrent shipments
    through) and give the shipment its deadline."""
    order.start_shipping(clock.now())
    order.unsettle(clock.now() + settle_within)


def _abandon_refund(order: Order, key: str) -> None:
    order.abandon_refund(key)
    if not order.refund_pending.amount:
        order.settle()


def _complete_refund(order: Order, key: str, clock: Clock) -> None:
    order.complete_refund(key, clock.now())
    if not order.refund_pending.amount:
        order.settle()


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
    ResumeOrder: resume_order,
    RecoverOrders: recover_orders,
}
EVENT_HANDLERS: EventTable = {
    OrderPlaced: [send_order_confirmation],
    OrderShipped: [send_shipping_notice],
}
