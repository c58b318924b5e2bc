"""Checkout: stock first, then money, and never money without stock.

      [read the cart, price it, save the order (pending_payment, to be settled within
       `settle_within`), hold the cart, reserve stock (all lines or none)]
                                                              one transaction
      -> authorize the payment (a refusal is recorded there and then)
      -> [record the authorization, check the cart out, allocate the stock, confirm the
          order, settle]                                      one transaction

Each transaction touches the stock last: stock rows are what concurrent checkouts of one SKU
queue on, and a row's lock is held from its UPDATE to the commit.

No database transaction stays open while the gateway is asked, and no authorization is asked
for later than the deadline less the gateway's timeout: past the deadline none is in flight.
The first transaction spans three contexts (`together`): a failure or a crash in it leaves
nothing behind, so there is nothing to undo. From its commit on the work is durable: the
order is its record and everything the checkout touches is keyed by the order id, so a
failing step ends the order and undoes what came before it, and a crash leaves the order
unsettled for the recovery job to finish, forward or back (settling.py). A customer's retry
with the same idempotency key is answered from the order (adapters.http.checkout_answers).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from shopcore.application.bus import retried
from shopcore.application.unit_of_work import Together
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
    IllegalTransition,
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
    together: Together,
    settle_within: timedelta,
    gateway_timeout: timedelta,
) -> Order:
    address = command.shipping_address.checked()
    if not 1 <= len(command.payment_token) <= 200:
        raise InvalidInput("payment_token must be 1 to 200 characters")
    settler = Settler(uow, clock, carts, stock, payments, together)
    settle_by = command.settle_by or clock.now() + settle_within
    _check_time(clock, settle_by)

    async def priced(contents: CartContents) -> Order:
        order = await _price(command, contents, address, prices, shipping, tax, discounts, clock)
        order.unsettle(settle_by)
        return order

    # A resubmitted order id must not touch what its first attempt holds: it is refused by
    # the first transaction (its order exists already: AlreadyExists), which then leaves
    # nothing behind; no read is spent on asking first.
    try:
        order = await retried(
            _placing(command, priced, uow, together, stock, carts), f"placing {command.order_id}"
        )
    except IllegalTransition:
        # The cart is held: by this very order's first attempt, when it is a resubmission.
        await _refuse_if_placed(uow, command.order_id)
        raise
    # Durable from here on: a failure ends the order and undoes, a crash leaves it to recovery.
    try:
        # The authorization ends within `gateway_timeout` (payments/bounded.py): started no
        # later than this, it is over, answered or cut off, before recovery may look.
        _check_time(clock, settle_by - gateway_timeout)
        held = await payments.authorize(
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
    # The authorization goes on the books in the same transaction as the allocation and the
    # confirmation: one transaction fewer, and no state in which the books hold a payment for
    # an order that is not confirmed (a crash before that commit: recovery asks the gateway).
    return await settler.complete_checkout(order, held)


def _placing(
    command: PlaceOrder,
    priced: Callable[[CartContents], Awaitable[Order]],
    uow: OrderingUnitOfWork,
    together: Together,
    stock: StockReservations,
    carts: CartSource,
) -> Callable[[], Awaitable[Order]]:
    """Read and price the cart, save the order, hold the cart and reserve, all or nothing;
    safe to run again after a lost answer. The cart is read in this transaction's unit, so
    holding it writes the very copy that was priced (no second read)."""
    attempts = 0

    async def place() -> Order:
        nonlocal attempts
        attempts += 1
        async with together(uow):
            if attempts > 1 and (placed := await uow.orders.get(command.order_id)) is not None:
                return placed  # the last attempt's commit went through; only its answer was lost
            contents = await carts.contents(command.cart_id, command.customer_id)
            order = await priced(contents)
            # AlreadyExists when another attempt saved this order id: all rolls back.
            await uow.orders.add(order)
            await carts.claim(order.cart_id, order.customer_id, order.id, contents.lines)
            # The stock last: its rows are the ones other checkouts wait on (a flash sale's
            # one SKU), and a row lock is held from here to the commit.
            await stock.reserve(order.reservation_id, contents.lines)
        return order

    return place


async def _refuse_if_placed(uow: OrderingUnitOfWork, order_id: str) -> None:
    async with uow:
        if await uow.orders.get(order_id) is not None:
            raise AlreadyExists(f"order {order_id} already exists")


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
