"""Checkout: stock first, then money, and never money without stock.

    claim the cart -> price it -> reserve stock (all lines or none)
      -> save the order (pending_payment) -> authorize the payment
      -> allocate the reservation -> confirm the order -> close the cart

Each step is its own transaction: no database transaction stays open while the gateway is
asked. Every failure undoes what came before it: a decline releases the stock, a shortfall
after authorization (the reservation expired and the stock went) voids the authorization, and
the cart goes back to the customer. A crash between steps leaves a reservation that expires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
from shopcore.shared.address import Address
from shopcore.shared.clock import Clock
from shopcore.shared.errors import (
    ConcurrencyConflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentGatewayUnavailable,
)
from shopcore.shared.ids import new_id
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
) -> Order:
    address = command.shipping_address.checked()
    if not 1 <= len(command.payment_token) <= 200:
        raise InvalidInput("payment_token must be 1 to 200 characters")
    # A resubmitted order id (a client retry) must not touch the cart, stock or payment that
    # the first attempt holds: it may still be waiting for the gateway. The claim refuses an
    # order id that holds (or checked out) the cart already, and the reservation, keyed by
    # the order id, refuses one that reserved before: each raises AlreadyExists, and what
    # this attempt gives back on the way out is only what it took itself.
    contents = await carts.claim(command.cart_id, command.customer_id, command.order_id)
    try:
        order = await _price(command, contents, address, prices, shipping, tax, discounts, clock)
        await stock.reserve(order.reservation_id, contents.lines)
    except Exception:
        await carts.abandon(command.cart_id, command.order_id)
        raise
    try:
        async with uow:
            await uow.orders.add(order)
            await uow.commit()
    except Exception:
        await stock.release(order.reservation_id)
        await carts.abandon(command.cart_id, command.order_id)
        raise
    return await _pay_and_confirm(order, command, uow, clock, carts, stock, payments)


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


async def _pay_and_confirm(
    order: Order,
    command: PlaceOrder,
    uow: OrderingUnitOfWork,
    clock: Clock,
    carts: CartSource,
    stock: StockReservations,
    payments: Payments,
) -> Order:
    payment_id = new_id()
    try:
        await payments.authorize(
            payment_id=payment_id,
            order_id=order.id,
            amount=order.total,
            token=command.payment_token,
            idempotency_key=f"{order.id}:authorize",
        )
    except (PaymentDeclined, PaymentGatewayUnavailable) as error:
        reason = error.code
        await stock.release(order.reservation_id)
        await change(uow, order.id, lambda o: o.payment_failed(reason, clock.now(), payment_id))
        await carts.abandon(command.cart_id, order.id)
        raise
    try:
        await stock.allocate(order.reservation_id)
        confirmed = await change(uow, order.id, lambda o: o.confirm(payment_id, clock.now()))
    except OutOfStock:
        await payments.void(payment_id, f"{order.id}:void")
        await stock.release(order.reservation_id)
        await change(uow, order.id, lambda o: o.cancel("stock_shortfall", clock.now()))
        await carts.abandon(command.cart_id, order.id)
        raise
    except (IllegalTransition, ConcurrencyConflict):
        # Cancelled while we were paying: hand everything back.
        await payments.void(payment_id, f"{order.id}:void")
        await stock.release(order.reservation_id)
        await carts.abandon(command.cart_id, order.id)
        raise
    await carts.complete(command.cart_id, order.id)
    return confirmed


async def change(uow: OrderingUnitOfWork, order_id: str, step: Callable[[Order], None]) -> Order:
    """Load an order, apply one state change and commit it (version-checked)."""
    async with uow:
        order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        step(order)
        await uow.commit()
    return order
