"""The invariants every fault test checks once the shop has recovered: the shop's books, the
stock ledger, the carts and the bank agree, and nothing is held for an order that will not
ship.

- every order is settled: confirmed (stock allocated, payment authorized, cart checked out),
  shipped (stock sent, payment captured, no refund half-done) or ended (nothing held for it:
  no active or allocated stock, no open authorization on the books or at the bank, its cart
  not held); `assert_order_settled` checks one order, as the state machine does for each
  order the recovery job finishes;
- per SKU, on hand is what was received, nothing is reserved any more, and what is allocated
  is exactly what confirmed orders ordered: no unit is sold twice or lost;
- the bank holds an open authorization for exactly the confirmed orders;
- exactly one confirmation email per confirmed order, and none for an order never confirmed.
"""

from __future__ import annotations

from collections import Counter

from shopcore.cart.model import CartStatus
from shopcore.inventory.model import ReservationStatus
from shopcore.inventory.queries import stock_levels
from shopcore.ordering.model import CAPTURED_STATES, Order, OrderStatus
from shopcore.ordering.queries import list_orders
from shopcore.ordering.settling import authorize_key
from shopcore.payments.model import PaymentStatus
from shopcore.payments.queries import payments_for_order
from tests.support.driver import ShopDriver

ENDED = (OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED)
PAID = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


async def all_orders(driver: ShopDriver) -> list[Order]:
    page = await list_orders(driver.shop.uow(), customer_id=None, limit=100)
    assert page.next_cursor is None, "more orders than this check reads"
    return list(page.items)


async def assert_order_settled(driver: ShopDriver, order: Order) -> None:
    """One order's part of the books: it is settled, and holds what its status says."""
    assert order.settled, f"order {order.id} ({order.status}) was left unsettled"
    reservation = await driver.shop.uow().stock.reservation(order.reservation_id)
    payments = await payments_for_order(driver.shop.uow(), order.id)
    cart = driver.store.carts.peek(order.cart_id)
    if order.status is OrderStatus.CONFIRMED:
        assert reservation is not None
        assert reservation.status is ReservationStatus.ALLOCATED, order.id
        assert [p.status for p in payments] == [PaymentStatus.AUTHORIZED], order.id
        assert cart is not None
        assert (cart.status, cart.order_id) == (CartStatus.CHECKED_OUT, order.id)
    elif order.status in CAPTURED_STATES:
        assert reservation is not None
        assert reservation.status is ReservationStatus.SHIPPED, order.id
        assert [p.status in PAID for p in payments] == [True], order.id
        assert not order.refund_pending.amount, f"{order.id} has a refund half-done"
    else:
        assert order.status in ENDED, order.status
        if reservation is not None:
            assert reservation.status not in (
                ReservationStatus.ACTIVE,
                ReservationStatus.ALLOCATED,
            ), f"{order.id} ({order.status}) holds stock"
        assert all(p.status is not PaymentStatus.AUTHORIZED for p in payments), order.id
        # The cart may be held again, by the customer's next checkout; never by this order.
        held = (CartStatus.CHECKING_OUT, order.id)
        assert cart is None or (cart.status, cart.order_id) != held, order.id
        answer = await driver.gateway.lookup(authorize_key(order.id))
        if answer is not None and answer.reference is not None:
            charge = driver.gateway.charges[answer.reference]
            assert charge.voided, f"the bank holds money for {order.id} ({order.status})"


async def assert_books_settled(driver: ShopDriver, received: dict[str, int]) -> None:
    orders = await all_orders(driver)
    allocated: Counter[str] = Counter()
    for order in orders:
        await assert_order_settled(driver, order)
        assert order.status not in CAPTURED_STATES, "these books know no shipment"
        if order.status is OrderStatus.CONFIRMED:
            for line in order.lines:
                allocated[line.sku] += line.quantity
    for cart in driver.store.carts:
        assert cart.status is not CartStatus.CHECKING_OUT, f"cart {cart.id} stranded"
    levels = await stock_levels(driver.shop.ports.stock_views, sorted(received), driver.clock.now())
    for level in levels:
        assert level.on_hand == received[level.sku], level
        assert level.reserved == 0, level
        assert level.allocated == allocated[level.sku], level
        assert level.available == level.on_hand - level.allocated >= 0, level
    confirmed = {order.id for order in orders if order.status is OrderStatus.CONFIRMED}
    open_charges = {
        reference
        for reference, charge in driver.gateway.charges.items()
        if not charge.voided and not charge.captured
    }
    held = set()
    for order_id in confirmed:
        (payment,) = await payments_for_order(driver.shop.uow(), order_id)
        held.add(payment.gateway_reference)
    assert open_charges == held, "the bank holds money for an order that will not ship"
    emails = Counter(
        sent.dedup_key.removeprefix("order-confirmation:")
        for sent in driver.notifier.sent
        if sent.dedup_key.startswith("order-confirmation:")
    )
    # Every confirmed order was mailed once; no order was mailed that never was confirmed
    # (one cancelled after its confirmation was).
    ever_confirmed = {
        order.id
        for order in orders
        if any(change.to_status is OrderStatus.CONFIRMED for change in order.history)
    }
    assert confirmed <= set(emails) <= ever_confirmed
    assert all(count == 1 for count in emails.values())
