"""Invariants of the shop's own books, once it has settled: stock, orders, carts, events.
Each function returns what it found wrong, one sentence a problem (empty: it holds).

- stock is conserved per SKU: on hand = received - shipped, nothing reserved, allocated =
  what confirmed (not yet shipped) orders ordered, available >= 0 (no oversell);
- no unpaid order holds stock: every active or allocated reservation is a confirmed order's,
  no order is left pending_payment and every order is settled;
- no cart is left checking_out, and every placed order's cart is checked out;
- no event was given up on (`dead_letters` is empty).
"""

from __future__ import annotations

from collections import Counter

from shopcore.ordering.model import CAPTURED_STATES, OrderStatus
from tests.faults.snapshot import PLACED, Snapshot

S = OrderStatus


def units(snapshot: Snapshot, *statuses: OrderStatus) -> Counter[str]:
    """Units per SKU ordered by the orders in `statuses`."""
    counted: Counter[str] = Counter()
    for order in snapshot.having(*statuses).values():
        for line in order.lines:
            counted[line.sku] += line.quantity
    return counted


def stock_conserved(snapshot: Snapshot, received: dict[str, int]) -> list[str]:
    problems = []
    shipped = units(snapshot, *CAPTURED_STATES)
    allocated = units(snapshot, S.CONFIRMED)
    for sku, count in sorted(received.items()):
        on_hand, reserved, held = snapshot.levels.get(sku, (0, 0, 0))
        moved_in = snapshot.movements.get((sku, "received"), 0)
        moved_out = -snapshot.movements.get((sku, "shipped"), 0)
        if moved_in != count:
            problems.append(f"{sku}: {moved_in} received by the ledger, {count} by the run")
        if moved_out != shipped[sku]:
            problems.append(f"{sku}: {moved_out} shipped by the ledger, {shipped[sku]} by orders")
        if on_hand != count - shipped[sku]:
            problems.append(
                f"{sku}: on hand {on_hand} != {count} received - {shipped[sku]} shipped"
            )
        if reserved:
            problems.append(f"{sku}: {reserved} still reserved")
        if held != allocated[sku]:
            problems.append(f"{sku}: {held} allocated, confirmed orders hold {allocated[sku]}")
        if on_hand - reserved - held < 0:
            problems.append(f"{sku}: oversold, available {on_hand - reserved - held}")
    return problems


def nothing_unpaid_holds_stock(snapshot: Snapshot) -> list[str]:
    problems = []
    confirmed = snapshot.having(S.CONFIRMED)
    for id, status in sorted(snapshot.reservations.items()):
        if status in ("active", "allocated") and id not in confirmed:
            order = snapshot.orders.get(id)
            owner = "no order" if order is None else f"order {order.status}"
            problems.append(f"reservation {id} is {status} for {owner}")
    problems += [
        f"confirmed order {id}: reservation {snapshot.reservations.get(id)}"
        for id in confirmed
        if snapshot.reservations.get(id) != "allocated"
    ]
    for id, order in sorted(snapshot.orders.items()):
        if order.status is S.PENDING_PAYMENT:
            problems.append(f"order {id} left pending_payment")
        if not order.settled:
            problems.append(f"order {id} ({order.status}) unsettled, settle_by {order.settle_by}")
    return problems


def carts_released(snapshot: Snapshot) -> list[str]:
    problems = [
        f"cart {id} left checking_out (order {order_id})"
        for id, (status, order_id) in sorted(snapshot.carts.items())
        if status == "checking_out"
    ]
    for id, order in sorted(snapshot.having(*PLACED).items()):
        status, order_id = snapshot.carts.get(order.cart_id, ("missing", None))
        if (status, order_id) != ("checked_out", id):
            problems.append(f"order {id} ({order.status}): cart {status} for {order_id}")
    return problems


def no_dead_letters(snapshot: Snapshot) -> list[str]:
    return [
        f"group {group} gave up on {kind}: {error[:200]}"
        for group, kind, error in snapshot.dead_letters
    ]
