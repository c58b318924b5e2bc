"""Checkout: stock first, then money, and never money without stock.

    read the cart -> price it -> reserve stock (all lines or none)
      -> save the order (pending_payment, to be settled within `settle_within`)
      -> hold the cart -> authorize the payment -> allocate the stock
      -> confirm the order -> check the cart out -> settle

No database transaction stays open while the gateway is asked: each step is its own. Before
the order is saved, a failure leaves nothing behind but the reservation, which is released
(and which, after a crash, expires). From the save on, the work is durable: the order is its
record and everything the checkout touches is keyed by the order id, so a failing step ends
the order and undoes what came before it, and a crash leaves the order unsettled for the
recovery job to finish, forward or back (settling.py). A customer's retry with the same
idempotency key is answered from the order (adapters.http.checkout_answers).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shopcore.application.bus import retried
from shopcore.ordering.commands import PlaceOrder
from shopcore.ordering.model import Order
from shopcore.ordering.ports import (
    CartContents,
    CartSource,
    DiscountPolicy,
    OrderingUnitOfWork,
    Payments,
    PriceList,
    ShippingPolicy,
    StockReservations,
    TaxPolicy,
)
from shopcore.ordering.pricing import compute_totals, price_lines
from shopcore.ordering.settling import Settler, authorize_key
from shopcore.shared.address import Address
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    AlreadyExists,
    Busy,
    CheckoutInterrupted,
    InvalidInput,
    ShopError,
    TransientConflict,
)
from shopcore.shared.money import total

logger = logging.getLogger("shopcore.checkout")


async def place_order(
    command: PlaceOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    prices: PriceList,
    stock: StockReservations,
    payments: Payments,
    shipping: ShippingPolicy,
    tax: TaxPolicy,
    discounts: DiscountPolicy,
    settle_within: timedelta,
) -> Order:
    address = command.shipping_address.checked()
    if not 1 <= len(command.payment_token) <= 200:
        raise InvalidInput("payment_token must be 1 to 200 characters")
    settler = Settler(uow, clock, carts, stock, payments)
    settle_by = command.settle_by or clock.now() + settle_within
    _check_time(clock, settle_by)
    async with uow:
        if await uow.orders.get(command.order_id) is not None:
            # A resubmitted order id must not touch what its first attempt holds.
            raise AlreadyExists(f"order {command.order_id} already exists")
    contents = await carts.contents(command.cart_id, command.customer_id)
    order = await _price(command, contents, address, prices, shipping, tax, discounts, clock)
    order.unsettle(settle_by)
    # AlreadyExists when another attempt reserved under this order id: nothing of ours to undo.
    await stock.reserve(order.reservation_id, contents.lines)

    async def save() -> None:
        async with uow:
            await uow.orders.add(order)
            await uow.commit()

    try:
        await retried(save, f"saving order {order.id}")
    except BaseException:
        await stock.release(order.reservation_id)
        raise
    # Durable from here on: a failure ends the order and undoes, a crash leaves it to recovery.
    try:
        await carts.claim(order.cart_id, order.customer_id, order.id, contents.lines)
        _check_time(clock, settle_by)
        await payments.authorize(
            payment_id=order.id,
            order_id=order.id,
            amount=order.total,
            token=command.payment_token,
            idempotency_key=authorize_key(order.id),
        )
    except (Busy, TransientConflict):
        # The shop's own fault (its database), not the checkout's: the order lives on, and
        # the recovery job finishes it once its time is up (a retry is answered from it).
        raise
    except ShopError as error:
        return await settler.fail(order.id, error)
    return await settler.complete_checkout(order)


def _check_time(clock: Clock, settle_by: datetime) -> None:
    """A checkout past its deadline (its process was frozen, or its request died and a retry
    gave up on it) starts nothing new: the recovery job may already be undoing it."""
    if clock.now() > settle_by:
        raise CheckoutInterrupted("the checkout took too long and was stopped; try again")


async def _price(
    command: PlaceOrder,
    contents: CartContents,
    address: Address,
    prices: PriceList,
    shipping: ShippingPolicy,
    tax: TaxPolicy,
    discounts: DiscountPolicy,
    clock: Clock,
) -> Order:
    quotes = await prices.prices([sku for sku, _ in contents.lines])
    lines = price_lines(contents, quotes)
    subtotal = total([line.line_total for line in lines], contents.currency)
    found = await discounts.discounts(command.customer_id, lines, subtotal)
    item_count = sum(line.quantity for line in lines)
    totals = compute_totals(
        lines,
        found,
        shipping.quote(subtotal, address, item_count),
        tax.rate(address.country),
        contents.currency,
    )
    return Order.place(
        id=command.order_id,
        customer_id=command.customer_id,
        cart_id=command.cart_id,
        lines=lines,
        discounts=found,
        totals=totals,
        shipping_address=address,
        now=clock.now(),
    )
